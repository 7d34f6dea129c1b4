package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"yici/internal/app"
)

func init() {
	commands["keys"] = command{"machine keys: keys create --kind app|kiosk|open311|cti --name NAME [--township CODE], keys list, keys revoke NAME", runKeys}
}

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: yici keys create --kind app|kiosk|open311|cti --name NAME [--township CODE] | keys list | keys revoke NAME")
		return errors.New("missing keys command")
	}
	cfg := app.FromEnv()
	fs := flags("keys "+args[0], stderr)
	cfg.DBFlags(fs)
	kind := fs.String("kind", "", "app, kiosk, open311 or cti")
	name := fs.String("name", "", "a name for the key (unique)")
	township := fs.String("township", "", "a kiosk's home township code")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg.LogLevel = "warn"
	env, err := app.Open(ctx, cfg, cfg.Logger(), true)
	if err != nil {
		return err
	}
	defer env.Close()
	a, err := app.New(ctx, env)
	if err != nil {
		return err
	}
	switch args[0] {
	case "create":
		if *township != "" {
			if d := a.Terr.Get(*township); d == nil || len(*township) != 9 {
				return fmt.Errorf("--township %s is not a township code", *township)
			}
		}
		k, secret, err := a.Keys.Create(ctx, *kind, *name, *township)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s key %q (%s); the secret is shown once, on the next line:\n%s\n", k.Kind, k.Name, k.ID, secret)
	case "list":
		ks, err := a.Keys.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tKIND\tTOWNSHIP\tCREATED\tLAST USED\tSTATUS")
		for _, k := range ks {
			status, used := "active", "-"
			if k.RevokedAt != nil {
				status = "revoked " + k.RevokedAt.Format("2006-01-02")
			}
			if k.LastUsedAt != nil {
				used = k.LastUsedAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Name, k.Kind, k.TownshipCode, k.CreatedAt.Format("2006-01-02"), used, status)
		}
		return tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return errors.New("usage: yici keys revoke NAME")
		}
		if err := a.Keys.Revoke(ctx, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", fs.Arg(0))
	default:
		return fmt.Errorf("unknown keys command %q", args[0])
	}
	return nil
}
