package knowledge

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"yici/internal/auth"
	"yici/internal/clock"
	"yici/internal/pgtest"
)

var (
	agent      = auth.Actor{ID: uuid.New(), Name: "话务员小王", Role: auth.Agent, UnitID: "3301-HC"}
	dispatcher = auth.Actor{ID: uuid.New(), Name: "派单员老李", Role: auth.Dispatcher, UnitID: "3301-HC"}
	supervisor = auth.Actor{ID: uuid.New(), Name: "督办员", Role: auth.Supervisor, UnitID: "3301-HC"}
	admin      = auth.Actor{ID: uuid.New(), Name: "管理员", Role: auth.Admin}
	officer    = auth.Actor{ID: uuid.New(), Name: "人社科员", Role: auth.Officer, UnitID: "330106-RSJ"}
	otherOff   = auth.Actor{ID: uuid.New(), Name: "住建科员", Role: auth.Officer, UnitID: "330106-ZJJ"}
	grid       = auth.Actor{ID: uuid.New(), Name: "网格员", Role: auth.Grid}
)

// day is the test's "today": Monday 2 March 2026, 10:00 in Shanghai.
var day = time.Date(2026, 3, 2, 10, 0, 0, 0, shanghai)

func date(s string) *time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// newStore returns a store on a fresh database with its clock at day.
func newStore(t testing.TB) (*Store, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(day)
	s, err := NewStore(pgtest.Pool(t), Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func importLines(t testing.TB, s *Store, lines ...string) ImportReport {
	t.Helper()
	rep, err := s.Import(context.Background(), auth.SystemActor("test"), strings.NewReader(strings.Join(lines, "\n")), "")
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func qa(title, question, answer string) Content {
	return Content{Type: QA, Title: title, Question: question, Answer: answer, Categories: []string{"0402"}, Region: "33", Visibility: Public}
}

func ids(hits []Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ArticleID
	}
	return out
}

func indexOf(hits []Hit, id string) int {
	for i, h := range hits {
		if h.ArticleID == id {
			return i
		}
	}
	return -1
}
