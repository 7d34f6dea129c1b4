package triage

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestRunCLI(t *testing.T) {
	tr := triager(t)
	in := strings.Join([]string{
		`{"id": "r1", "text": "杭州市西湖区文新街道某小区楼下饭店油烟直排，熏得人受不了", "channel": "web"}`,
		`this is not json`,
		``,
		`{"id": 42, "text": "西湖区某小区楼下饭店油烟直排", "channel": "phone"}`,
		`{"id": "r3", "channel": "app"}`,
		`{"id": "r4", "text": "油烟", "channel": "fax"}`,
		`{"id": "r5", "text": "楼下饭店油烟直排"}`, // no channel, no newline at the end
	}, "\n")
	var out bytes.Buffer
	if err := RunCLI(strings.NewReader(in), &out, tr); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 6 {
		t.Fatalf("got %d lines, want 6 (blank lines are skipped):\n%s", len(lines), out.String())
	}
	var rows []map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("output line is not JSON: %s", l)
		}
		rows = append(rows, m)
	}
	r := rows[0]
	for _, k := range []string{"id", "category", "category_top3", "township_code", "county_code", "kind", "urgency", "lead_unit", "confidence"} {
		if _, ok := r[k]; !ok {
			t.Errorf("field %s missing: %v", k, r)
		}
	}
	if r["id"] != "r1" || r["category"] != "0104" || r["township_code"] != "330106013" || r["county_code"] != "330106" ||
		r["lead_unit"] != "330106013-ZF" || len(r["category_top3"].([]any)) != 3 {
		t.Errorf("line 1: %v", r)
	}
	if _, ok := rows[1]["error"]; !ok {
		t.Errorf("bad line: %v", rows[1])
	}
	if rows[2]["id"] != float64(42) || rows[2]["township_code"] != nil || rows[2]["county_code"] != "330106" || rows[2]["lead_unit"] != "330106-ZFJ" {
		t.Errorf("line 4: %v", rows[2])
	}
	if v, ok := rows[2]["township_code"]; !ok || v != nil {
		t.Errorf("township_code must be null, got %v", rows[2])
	}
	if rows[3]["id"] != "r3" || rows[3]["error"] == nil {
		t.Errorf("no text: %v", rows[3])
	}
	if rows[4]["id"] != "r4" || rows[4]["error"] == nil {
		t.Errorf("unknown channel: %v", rows[4])
	}
	if rows[5]["id"] != "r5" || rows[5]["category"] != "0104" || rows[5]["lead_unit"] != "HC" || rows[5]["county_code"] != nil {
		t.Errorf("last line: %v", rows[5])
	}
}

func TestRunCLILongLine(t *testing.T) {
	tr := triager(t)
	long := `{"id":"x","text":"` + strings.Repeat("油", maxLine) + `"}`
	in := long + "\n" + `{"id":"y","text":"楼下饭店油烟直排"}` + "\n"
	var out bytes.Buffer
	if err := RunCLI(strings.NewReader(in), &out, tr); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"error"`) || !strings.Contains(lines[1], `"y"`) {
		t.Fatalf("got %q", out.String())
	}
}
