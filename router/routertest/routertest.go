// Package routertest gives tests a database with the units of Zhejiang.
package routertest

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"yici/internal/pgtest"
	"yici/router"
	"yici/router/taxonomy"
	"yici/router/territory"
)

// Zhejiang is a template database with the migrated schema and the 7,400
// default units of Zhejiang.
var Zhejiang = pgtest.Template{Name: "zhejiang", Setup: func(ctx context.Context, db *pgxpool.Pool) error {
	_, err := router.SyncUnits(ctx, db, router.GenerateUnits(territory.Zhejiang(), taxonomy.Default()))
	return err
}}
