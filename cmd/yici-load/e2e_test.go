package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"yici/channels"
	"yici/internal/app"
	"yici/internal/apptest"
)

// The tool against a real server: every operation of the mix succeeds,
// every acknowledged submission is in the -acked file and in the database
// (-check-acked), and every one reaches the consoles that may see it.
func TestLoadAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	s := apptest.StartConfigured(t, func(c *app.Config) { c.TrackRate, c.WebRate = 1_000_000, 1_000_000 })
	ctx := context.Background()
	_, secret, err := s.App.Keys.Create(ctx, channels.KeyApp, "load", "")
	if err != nil {
		t.Fatal(err)
	}
	acked := filepath.Join(t.TempDir(), "acked.tsv")
	var out, errb bytes.Buffer
	err = run(ctx, []string{"-url", s.URL, "-app-key", secret, "-mix", "submit=6,web=1,track=2,queue=1", "-clients", "4",
		"-duration", "3s", "-warmup", "500ms", "-grace", "5s", "-consoles", "6", "-console-users", "supervisor=1,wenxin-zf=1",
		"-acked", acked, "-json", "-quiet", "-seed", "7"}, &out, &errb)
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	byOp := map[string]OpReport{}
	for _, o := range rep.Ops {
		byOp[o.Op] = o
	}
	for _, op := range []string{"submit", "web", "track", "queue"} {
		o := byOp[op]
		if o.OK == 0 || o.Failed != 0 {
			t.Errorf("%s: %d ok, %d failed %v", op, o.OK, o.Failed, o.Errors)
		}
	}
	if rep.Intake == nil || rep.Intake.Acked == 0 || rep.Consoles == nil {
		t.Fatalf("report: %s", out.String())
	}
	if rep.Intake.Seen != int(rep.Intake.Acked) {
		t.Errorf("%d acknowledged in the window, %d seen on a console (the supervisor sees every case)", rep.Intake.Acked, rep.Intake.Seen)
	}
	// The acked file: one line per acknowledged submission, all in the database.
	f, err := os.Open(acked)
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && l[0] != '#' {
			lines++
		}
	}
	f.Close()
	if lines < int(rep.Intake.Acked) {
		t.Fatalf("%d lines in the acked file, %d acknowledged", lines, rep.Intake.Acked)
	}
	out.Reset()
	if err := run(ctx, []string{"-check-acked", acked, "-database-url", s.DBURL}, &out, &errb); err != nil {
		t.Fatalf("check-acked: %v\n%s", err, out.String())
	}
	// A number the server never gave is reported missing.
	af, err := os.OpenFile(acked, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	af.WriteString("261127000000000\tapp\tx\t201\t0000\t0\tfalse\n")
	af.Close()
	out.Reset()
	if err := run(ctx, []string{"-check-acked", acked, "-database-url", s.DBURL}, &out, &errb); err == nil || !strings.Contains(out.String(), "missing 261127000000000") {
		t.Fatalf("a number not in the database passed: %v\n%s", err, out.String())
	}
	db, err := pgxpool.New(ctx, s.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var inDB int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM cases WHERE channel IN ('app', 'web') AND created_at > now() - interval '1 hour'`).Scan(&inDB); err != nil {
		t.Fatal(err)
	}
	if inDB < lines {
		t.Fatalf("%d cases in the database, %d acknowledged", inDB, lines)
	}
}
