package duplicates

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"yici/cases"
	"yici/internal/pgtest"
)

func literal(v any) string {
	switch x := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case uuid.UUID:
		return "'" + x.String() + "'"
	case time.Time:
		return "'" + x.Format(time.RFC3339Nano) + "'"
	case float64:
		return fmt.Sprintf("%v", x)
	}
	panic(fmt.Sprintf("literal %T", v))
}

// TestQueryUsesTheIndexes checks that every branch of the statement can
// use its index (cases_phone, cases_dup_topic_open, cases_dup_near, and
// cases_dup_topic for the closed cases of a hot spot), in the
// generic plan too (pgx prepares statements, and PostgreSQL may switch to
// a generic plan after five executions): with sequential scans disabled,
// an index that cannot be used shows as a Seq Scan.
func TestQueryUsesTheIndexes(t *testing.T) {
	db := pgtest.Pool(t)
	ctx := context.Background()
	d := New(db, cases.NewStore(db, cases.Options{}), Options{})
	c := &cases.Case{ID: uuid.New(), CitizenPhone: "13857101234", TownshipCode: "330106013", Category: "0104",
		Point: &cases.Point{Lat: 30.2876, Lon: 120.1102}, CreatedAt: time.Now()}
	// Statistics of a city, so that the planner's choices are the real ones.
	if _, err := db.Exec(ctx, `INSERT INTO cases (id, tracking_no, township_code, kind, category, title, content, lat, lon,
		citizen_phone, channel, state, policy, created_at, updated_at)
		SELECT gen_random_uuid(), 'P' || i, '330106' || (100 + i % 50), '投诉', (5000 + i % 40)::text, 't', 'c',
			CASE WHEN i % 3 = 0 THEN 30.15 + random() * 0.2 END, CASE WHEN i % 3 = 0 THEN 120.0 + random() * 0.2 END,
			'13' || lpad((i % 9000)::text, 9, '0'), 'web', CASE WHEN i % 10 = 0 THEN 'in_progress' ELSE 'archived' END, '{}',
			now() - (i % 60) * interval '1 day', now()
		FROM generate_series(1, 20000) i;
		ANALYZE cases`); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, hot := range []bool{false, true} {
		sql, args := d.query(c, hot)
		lits := make([]string, len(args))
		for i, a := range args {
			lits[i] = literal(a)
		}
		for _, mode := range []string{"auto", "force_generic_plan"} {
			var plan []string
			err := func() error {
				if _, err := conn.Exec(ctx, "SET enable_seqscan = off; SET plan_cache_mode = "+mode+"; PREPARE dupq AS "+sql); err != nil {
					return err
				}
				defer conn.Exec(ctx, "DEALLOCATE dupq")
				rows, err := conn.Query(ctx, "EXPLAIN EXECUTE dupq("+strings.Join(lits, ", ")+")")
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var line string
					if err := rows.Scan(&line); err != nil {
						return err
					}
					plan = append(plan, line)
				}
				return rows.Err()
			}()
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			want := []string{"cases_phone", "cases_dup_topic_open", "cases_dup_near"}
			if hot {
				want = append(want, "cases_dup_topic ")
			}
			for _, ix := range want {
				if !strings.Contains(text, ix) {
					t.Errorf("hot %v, %s: %s not used:\n%s", hot, mode, ix, text)
				}
			}
			if strings.Contains(text, "Seq Scan on cases") {
				t.Errorf("hot %v, %s: sequential scan:\n%s", hot, mode, text)
			}
		}
	}
}
