package knowledge

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// FuzzDecoder feeds arbitrary bytes to the JSON lines import decoder: it
// must never panic, must report every failure as a line error, and every
// record it accepts must survive an export and a re-import unchanged.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte(lineA + "\n" + lineB + "\n"))
	f.Add([]byte(conformanceArticles[7]))
	f.Add([]byte("\n\n{}\n"))
	f.Add([]byte(`{"id":"x","type":"qa","title":"t","answer":"a","categories":["0402"],"region":"33","visibility":"public","tags":[],"effective_from":"2026-02-30","expires_on":null}`))
	f.Add([]byte(`{"id":"x","type":"guide","title":"t","guide":{"主项名称":"a","申请材料":"b","办事流程":"c"},"region":"3301","extra":1}`))
	f.Add([]byte("{\"id\":\"\xff\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := NewDecoder(bytes.NewReader(data))
		for i := 0; i < 1000; i++ {
			rec, c, err := dec.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			var le *LineError
			if err != nil {
				if !errors.As(err, &le) || le.Line < 1 {
					t.Fatalf("not a line error: %v", err)
				}
				continue
			}
			if !ValidID(rec.ID) || c.Check() != nil {
				t.Fatalf("accepted an invalid record: %+v", rec)
			}
			a := &Article{ID: rec.ID, OwnerUnit: rec.OwnerUnit, Content: c}
			var buf bytes.Buffer
			if err := RecordOf(a).Encode(&buf); err != nil {
				t.Fatal(err)
			}
			rec2, c2, err := ParseRecord(buf.Bytes())
			if err != nil {
				t.Fatalf("re-import of %s: %v", buf.String(), err)
			}
			if rec2.ID != rec.ID || !sameContent(&c, &c2) {
				t.Fatalf("round trip changed the record:\n%+v\n%+v", c, c2)
			}
			if !reflect.DeepEqual(orNone(c.Tags), orNone(c2.Tags)) {
				t.Fatalf("tags: %v %v", c.Tags, c2.Tags)
			}
		}
	})
}
