// Package router sends each case to the one unit that owns it: the
// territory and its handling units, the category × territory matrix of
// rules, re-routing after returns, escalation, and triage of free text.
package router

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/router/taxonomy"
	"yici/router/territory"
)

// Unit is a handling unit.
type Unit struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Type         string `json:"type"`
	Level        string `json:"level"`
	ProvinceCode string `json:"province_code"`
	CityCode     string `json:"city_code"`
	CountyCode   string `json:"county_code"`
	TownshipCode string `json:"township_code"`
	Active       bool   `json:"active"`
	MergedInto   string `json:"merged_into,omitempty"`
}

// ProvinceCentreID is the unit of the provincial hotline platform, the
// queue of last resort when not even the city is known.
const ProvinceCentreID = taxonomy.Center

// GenerateUnits derives the default units from the territory: the four
// platforms of every township, the departments of every county, the
// utilities and the hotline centre of every city, and the provincial
// centre. Ids are stable and readable: 330106001-ZF, 330106-RSJ,
// 3301-WATER, 3301-HC.
func GenerateUnits(terr *territory.Territory, tax *taxonomy.Taxonomy) []Unit {
	var out []Unit
	prov := ""
	if ps := terr.Provinces(); len(ps) > 0 {
		prov = ps[0]
	}
	provName := ""
	if p := terr.Get(prov); p != nil {
		provName = p.Name
	}
	out = append(out, Unit{ID: ProvinceCentreID, Name: provName + "12345政务服务热线", Type: taxonomy.Center, Level: taxonomy.LevelCenter, ProvinceCode: prov, Active: true})
	var township, county, utility []*taxonomy.UnitType
	for _, ut := range tax.UnitTypes() {
		switch ut.Level {
		case taxonomy.LevelTownship:
			township = append(township, ut)
		case taxonomy.LevelCounty:
			county = append(county, ut)
		case taxonomy.LevelUtility:
			utility = append(utility, ut)
		}
	}
	for _, city := range terr.Cities() {
		cityName := city.Name
		pc := city.Code[:2]
		out = append(out, Unit{ID: city.Code + "-" + taxonomy.Center, Name: cityName + "12345热线中心", Type: taxonomy.Center,
			Level: taxonomy.LevelCenter, ProvinceCode: pc, CityCode: city.Code, Active: true})
		for _, ut := range utility {
			out = append(out, Unit{ID: city.Code + "-" + ut.Code, Name: cityName + ut.Name, Type: ut.Code, Level: ut.Level,
				ProvinceCode: pc, CityCode: city.Code, Active: true})
		}
		for _, cty := range terr.Counties(city.Code) {
			for _, ut := range county {
				out = append(out, Unit{ID: cty.Code + "-" + ut.Code, Name: cty.Name + ut.Name, Type: ut.Code, Level: ut.Level,
					ProvinceCode: pc, CityCode: city.Code, CountyCode: cty.Code, Active: true})
			}
			for _, tw := range terr.Townships(cty.Code) {
				if territory.Placeholder(tw.Name) {
					continue
				}
				for _, ut := range township {
					out = append(out, Unit{ID: tw.Code + "-" + ut.Code, Name: tw.Name + ut.Name, Type: ut.Code, Level: ut.Level,
						ProvinceCode: pc, CityCode: city.Code, CountyCode: cty.Code, TownshipCode: tw.Code, Active: true})
				}
			}
		}
	}
	return out
}

// SyncUnits inserts the units that do not exist yet. Units the operator
// renamed, merged or deactivated keep the operator's version.
func SyncUnits(ctx context.Context, db *pgxpool.Pool, units []Unit) (int64, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE units_in (LIKE units INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
		return 0, err
	}
	rows := make([][]any, len(units))
	for i, u := range units {
		rows[i] = []any{u.ID, u.Name, u.Type, u.Level, u.ProvinceCode, u.CityCode, u.CountyCode, u.TownshipCode, u.Active}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"units_in"},
		[]string{"id", "name", "type", "level", "province_code", "city_code", "county_code", "township_code", "active"},
		pgx.CopyFromRows(rows)); err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO units (id, name, type, level, province_code, city_code, county_code, township_code, active)
		SELECT id, name, type, level, province_code, city_code, county_code, township_code, active FROM units_in
		ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), tx.Commit(ctx)
}

// Units reads and edits the units table.
type Units struct{ DB *pgxpool.Pool }

const unitCols = `id, name, type, level, province_code, city_code, county_code, township_code, active, coalesce(merged_into, '')`

func scanUnit(r pgx.CollectableRow) (Unit, error) {
	var u Unit
	err := r.Scan(&u.ID, &u.Name, &u.Type, &u.Level, &u.ProvinceCode, &u.CityCode, &u.CountyCode, &u.TownshipCode, &u.Active, &u.MergedInto)
	return u, err
}

// Get returns one unit.
func (s Units) Get(ctx context.Context, id string) (Unit, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+unitCols+` FROM units WHERE id = $1`, id)
	if err != nil {
		return Unit{}, err
	}
	return pgx.CollectExactlyOneRow(rows, scanUnit)
}

// List returns the units of a territory (a code prefix: province, city,
// county or township; "" for all), optionally of one type.
func (s Units) List(ctx context.Context, territoryCode, typ string) ([]Unit, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+unitCols+` FROM units
		WHERE ($1 = '' OR township_code LIKE $1 || '%' OR county_code LIKE $1 || '%' OR city_code LIKE $1 || '%' OR id = 'HC')
		  AND ($2 = '' OR type = $2) ORDER BY id`, territoryCode, typ)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanUnit)
}

// Add creates a unit the operator defines (a joint squad, a new office).
func (s Units) Add(ctx context.Context, u Unit) error {
	if u.ID == "" || u.Name == "" || u.Type == "" {
		return fmt.Errorf("router: unit id, name and type are required")
	}
	if u.Level == "" {
		u.Level = "other"
	}
	_, err := s.DB.Exec(ctx, `INSERT INTO units (id, name, type, level, province_code, city_code, county_code, township_code, active)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,true)`, u.ID, strings.TrimSpace(u.Name), u.Type, u.Level, u.ProvinceCode, u.CityCode, u.CountyCode, u.TownshipCode)
	return err
}

// Rename changes a unit's name.
func (s Units) Rename(ctx context.Context, id, name string) error {
	return s.exec1(ctx, `UPDATE units SET name = $2, updated_at = now() WHERE id = $1`, id, strings.TrimSpace(name))
}

// SetActive activates or deactivates a unit.
func (s Units) SetActive(ctx context.Context, id string, active bool) error {
	return s.exec1(ctx, `UPDATE units SET active = $2, updated_at = now() WHERE id = $1`, id, active)
}

// Merge folds unit id into another (a township sharing its neighbour's
// 综合执法 squad): id is deactivated and routing resolves it to into.
func (s Units) Merge(ctx context.Context, id, into string) error {
	if id == into {
		return fmt.Errorf("router: a unit cannot merge into itself")
	}
	return s.exec1(ctx, `UPDATE units SET merged_into = $2, active = false, updated_at = now()
		WHERE id = $1 AND EXISTS (SELECT 1 FROM units WHERE id = $2 AND active)`, id, into)
}

func (s Units) exec1(ctx context.Context, sql string, args ...any) error {
	tag, err := s.DB.Exec(ctx, sql, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("router: unit %v not found (or target inactive)", args[0])
	}
	return nil
}
