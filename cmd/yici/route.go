package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"yici/cases"
	"yici/internal/app"
	"yici/router"
	"yici/router/taxonomy"
	"yici/router/territory"
	"yici/router/triage"
)

func init() {
	commands["triage"] = command{"suggest category, township, kind and urgency for JSON lines on stdin (no database)", runTriage}
	commands["route"] = command{"route explain <tracking number>: the routing decisions of a case", runRoute}
}

func runTriage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := app.FromEnv()
	fs := flags("triage", stderr)
	fs.StringVar(&cfg.Province, "province", cfg.Province, "province code of the territory (env YICI_PROVINCE)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	terr, err := territory.Load(cfg.Province)
	if err != nil {
		return err
	}
	t, err := triage.New(taxonomy.Default(), terr)
	if err != nil {
		return err
	}
	return triage.RunCLI(os.Stdin, stdout, t)
}

func runRoute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := app.FromEnv()
	fs := flags("route", stderr)
	cfg.DBFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: yici route explain [flags] <tracking number>")
		fs.PrintDefaults()
	}
	if len(args) == 0 || args[0] != "explain" {
		fs.Usage()
		return errors.New("unknown route command")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("give one tracking number")
	}
	env, err := app.Open(ctx, cfg, cfg.Logger(), true)
	if err != nil {
		return err
	}
	defer env.Close()
	a, err := app.New(ctx, env)
	if err != nil {
		return err
	}
	c, err := a.Cases.GetByTrackingNo(ctx, cases.NormalizeTrackingNo(fs.Arg(0)))
	if err != nil {
		return fmt.Errorf("case %s: %w", fs.Arg(0), err)
	}
	fmt.Fprintf(stdout, "工单 %s  %s  类别 %s  属地 %s  状态 %s\n", c.TrackingNo, c.Kind, c.Category, firstNonEmpty(c.TownshipCode, c.CountyCode, "未知"), c.State.Label())
	stored, err := a.Router.Decisions(ctx, c.ID)
	if err != nil {
		return err
	}
	for i, sd := range stored {
		applied := "未执行（待人工派单）"
		if sd.Applied {
			applied = "已执行"
		}
		fmt.Fprintf(stdout, "\n决定 %d  %s  规则版本 %d  %s  操作人 %s\n", i+1, sd.At.In(shanghai()).Format("2006-01-02 15:04:05"), sd.Decision.RuleVersion, applied, sd.Actor)
		printDecision(stdout, sd.Decision.Summary, sd.Decision.Steps, sd.Decision.Lost)
	}
	now, err := a.Router.Decide(ctx, c)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n按当前规则（版本 %d）重新计算：\n", now.RuleVersion)
	printDecision(stdout, now.Summary, now.Steps, now.Lost)
	return nil
}

func printDecision(w io.Writer, summary string, steps []string, lost []router.Candidate) {
	fmt.Fprintf(w, "  结果：%s\n", summary)
	for _, s := range steps {
		fmt.Fprintf(w, "  · %s\n", s)
	}
	for _, l := range lost {
		lead := ""
		if l.Lead != "" {
			lead = "（" + l.Lead + "）"
		}
		fmt.Fprintf(w, "  ✗ 未采用 %s%s：%s\n", l.Rule, lead, l.Why)
	}
}

func shanghai() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
