// Command yici is the whole product in one binary.
//
//	yici serve      serve the hotline, the console and the APIs
//	yici migrate    apply pending database migrations
//	yici seed       load the reference data (and demo data with --demo)
//	yici version    print the version
//
// Every command that needs the database takes DATABASE_URL (an external
// PostgreSQL) or else --data DIR / YICI_DATA (default ./var), the
// directory of a private PostgreSQL cluster that the command finds running
// or starts and stops itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"yici/internal/app"
	"yici/internal/demo"
	"yici/internal/schema"
)

var version = "dev"

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"serve":   {"serve the hotline, the console and the APIs", serve},
	"migrate": {"apply pending database migrations", migrate},
	"seed":    {"load the reference data (units) and, with --demo, the demo data", seed},
	"version": {"print the version", printVersion},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "yici — 12345 hotline and grassroots case router (一次: at most one trip)")
	fmt.Fprintln(w, "\nusage: yici <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'yici <command> -h' for the flags of a command.")
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	name := os.Args[1]
	if name == "-h" || name == "--help" || name == "help" {
		usage(os.Stdout)
		return
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "yici: unknown command %q\n\n", name)
		usage(os.Stderr)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, os.Args[2:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "yici %s: %v\n", name, err)
		stop()
		os.Exit(1)
	}
}

func flags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("yici "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := app.FromEnv()
	fs := flags("serve", stderr)
	cfg.ServeFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := cfg.Logger()
	env, err := app.Open(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer env.Close()
	a, err := app.New(ctx, env)
	if err != nil {
		return err
	}
	if env.Fresh() {
		if err := a.Seed(ctx, cfg.Demo); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	if strings.HasPrefix(cfg.Addr, ":") {
		url = "http://localhost" + cfg.Addr
	}
	fmt.Fprintf(stdout, "Yici %s serving on %s (%s)\n", version, url, cfg.String())
	if cfg.Demo {
		printLogins(stdout)
	}
	return a.Serve(ctx, ln)
}

func printLogins(w io.Writer) {
	fmt.Fprintf(w, "\n演示账号 demo logins (password %s):\n", demo.Password)
	for _, l := range demo.Logins {
		fmt.Fprintf(w, "  %-12s %-10s %s\n", l.Username, l.Role.Label(), l.What)
	}
	fmt.Fprintln(w)
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := app.FromEnv()
	fs := flags("migrate", stderr)
	cfg.DBFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	env, err := app.Open(ctx, cfg, cfg.Logger(), true)
	if err != nil {
		return err
	}
	defer env.Close()
	for _, m := range env.Applied {
		fmt.Fprintf(stdout, "applied %04d_%s\n", m.Version, m.Name)
	}
	fmt.Fprintf(stdout, "schema at version %d\n", schema.Latest())
	return nil
}

func seed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := app.FromEnv()
	fs := flags("seed", stderr)
	cfg.DBFlags(fs)
	withDemo := fs.Bool("demo", true, "also load the demo accounts and cases")
	if err := fs.Parse(args); err != nil {
		return err
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
	if err := a.Seed(ctx, *withDemo); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "seeded")
	if *withDemo {
		printLogins(stdout)
	}
	return nil
}

func printVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "yici %s (schema %d)\n", version, schema.Latest())
	return nil
}
