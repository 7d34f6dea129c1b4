package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"yici/internal/app"
	"yici/internal/auth"
	"yici/knowledge"
)

func init() {
	commands["kb"] = command{"knowledge base: import, export, query, sync (kb -h)", kb}
}

const kbUsage = `usage: yici kb <import|export|query|sync> [flags] [FILE]

  import FILE    load articles from JSON lines (ids kept; a known id with new content becomes a new version)
  export [FILE]  write the published articles as JSON lines (standard output without FILE)
  query          read {"id","query","audience":"public|agent","region"} lines on standard input,
                 write {"id","results":[article ids, best first]} lines
  sync           push pending changes to Meilisearch (MEILI_URL), a full reindex with --full

Search uses Meilisearch when MEILI_URL is set (MEILI_KEY its key), PostgreSQL otherwise.`

func kb(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, kbUsage)
		if len(args) == 0 {
			return errors.New("kb: a subcommand is needed")
		}
		return flag.ErrHelp
	}
	sub, args := args[0], args[1:]
	cfg := app.FromEnv()
	fs := flags("kb "+sub, stderr)
	cfg.DBFlags(fs)
	fs.StringVar(&cfg.MeiliURL, "meili-url", cfg.MeiliURL, "Meilisearch URL (env MEILI_URL); empty: search PostgreSQL")
	fs.StringVar(&cfg.MeiliKey, "meili-key", cfg.MeiliKey, "Meilisearch API key (env MEILI_KEY)")
	owner := fs.String("owner", "", "import: owning unit of articles that name none")
	full := fs.Bool("full", false, "sync: reindex everything")
	switch sub {
	case "import", "export", "query", "sync":
	default:
		fmt.Fprintln(stderr, kbUsage)
		return fmt.Errorf("kb: unknown subcommand %q", sub)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := cfg.Logger()
	env, err := app.Open(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer env.Close()
	st, err := knowledge.NewStore(env.Pool, knowledge.Options{Log: log, MeiliURL: cfg.MeiliURL, MeiliKey: cfg.MeiliKey})
	if err != nil {
		return err
	}
	switch sub {
	case "import":
		if fs.NArg() != 1 {
			return errors.New("kb import: name one FILE (- for standard input)")
		}
		var r io.Reader = os.Stdin
		if name := fs.Arg(0); name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		}
		start := time.Now()
		rep, err := st.Import(ctx, auth.SystemActor("yici kb import"), r, *owner)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "imported: %s in %s\n", rep, time.Since(start).Round(time.Millisecond))
		return kbSync(ctx, st, stdout, false)
	case "export":
		w := stdout
		if fs.NArg() > 0 && fs.Arg(0) != "-" {
			f, err := os.Create(fs.Arg(0))
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		bw := bufio.NewWriter(w)
		n, err := st.Export(ctx, bw)
		if err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "exported %d articles\n", n)
		return nil
	case "query":
		var idx knowledge.Index = st.PG()
		if m := st.Meili(); m != nil {
			idx = m
		}
		return kbQuery(ctx, idx, os.Stdin, stdout)
	default:
		return kbSync(ctx, st, stdout, *full)
	}
}

func kbSync(ctx context.Context, st *knowledge.Store, stdout io.Writer, full bool) error {
	m := st.Meili()
	if m == nil {
		return nil
	}
	if err := m.Setup(ctx); err != nil {
		return err
	}
	if full {
		n, err := m.Reindex(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "meilisearch: reindexed %d articles\n", n)
	}
	n, err := m.Sync(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "meilisearch: synced %d articles\n", n)
	return nil
}

// kbQueryLine is one line of `yici kb query` input.
type kbQueryLine struct {
	ID       json.RawMessage `json:"id"`
	Query    string          `json:"query"`
	Audience string          `json:"audience"`
	Region   *string         `json:"region"`
}

func kbQuery(ctx context.Context, idx knowledge.Index, in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	bw := bufio.NewWriter(out)
	defer bw.Flush()
	today := knowledge.Today(time.Now())
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var ql kbQueryLine
		if err := json.Unmarshal([]byte(line), &ql); err != nil {
			return fmt.Errorf("kb query: line %d: %w", n, err)
		}
		q := knowledge.Query{Text: ql.Query, Audience: knowledge.AudiencePublic, Today: today}
		if ql.Audience == "agent" || ql.Audience == "staff" {
			q.Audience = knowledge.AudienceStaff
		}
		if ql.Region != nil {
			q.County = *ql.Region
		}
		hits, err := idx.Search(ctx, q)
		if err != nil {
			return fmt.Errorf("kb query: line %d: %w", n, err)
		}
		ids := make([]string, len(hits))
		for i, h := range hits {
			ids[i] = h.ArticleID
		}
		b, err := json.Marshal(struct {
			ID      json.RawMessage `json:"id"`
			Results []string        `json:"results"`
		}{ql.ID, ids})
		if err != nil {
			return err
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	return sc.Err()
}
