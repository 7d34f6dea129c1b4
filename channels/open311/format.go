package open311

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The answers are built once as ordered fields and lists and written as
// XML or JSON by the Spark convention the spec prescribes
// (wiki.open311.org/JSON_and_XML_Conversion): a JSON array is an XML
// element holding one child element per item (services → service,
// service_requests → request, errors → error, ...); a null is an empty
// element.

// field is one named value of an object.
type field struct {
	name string
	val  any // string, bool, int, float64, time.Time, nil (null), object, list
}

// object is an ordered record.
type object []field

// list is an array whose XML items are named item.
type list struct {
	item  string
	elems []any
}

// doc is a whole answer: a root element name and its value (a list for
// the JSON array answers, an object for discovery and service definitions).
type doc struct {
	root string
	val  any
}

// cst is China Standard Time: the spec wants an offset with every time,
// and ours is +08:00 (no daylight saving since 1991).
var cst = time.FixedZone("CST", 8*3600)

// w3c formats t as the W3C profile of ISO 8601 the spec requires, with
// the +08:00 offset.
func w3c(t time.Time) string { return t.In(cst).Format(time.RFC3339) }

const (
	formatJSON = "json"
	formatXML  = "xml"
)

func (d doc) render(format string) []byte {
	var b bytes.Buffer
	if format == formatJSON {
		writeJSON(&b, d.val)
		b.WriteByte('\n')
		return b.Bytes()
	}
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	writeXML(&b, d.root, d.val)
	b.WriteByte('\n')
	return b.Bytes()
}

func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case int:
		return strconv.Itoa(v), true
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", false
		}
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case time.Time:
		return w3c(v), true
	}
	return "", false
}

func writeJSON(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case object:
		b.WriteByte('{')
		for i, f := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(f.name)
			b.Write(k)
			b.WriteByte(':')
			writeJSON(b, f.val)
		}
		b.WriteByte('}')
	case list:
		b.WriteByte('[')
		for i, e := range v.elems {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case string, time.Time:
		s, _ := scalar(v)
		q, _ := json.Marshal(s) // escapes <, > and & as well
		b.Write(q)
	default:
		if s, ok := scalar(v); ok {
			b.WriteString(s)
			return
		}
		b.WriteString("null")
	}
}

func writeXML(b *bytes.Buffer, name string, v any) {
	b.WriteString("<" + name + ">")
	switch v := v.(type) {
	case object:
		for _, f := range v {
			writeXML(b, f.name, f.val)
		}
	case list:
		for _, e := range v.elems {
			writeXML(b, v.item, e)
		}
	default:
		if s, ok := scalar(v); ok {
			// EscapeText also replaces characters XML cannot carry.
			_ = xml.EscapeText(b, []byte(s))
		}
	}
	b.WriteString("</" + name + ">")
}

// Error is one entry of the spec's error answer.
type Error struct {
	Code        int
	Description string
}

// Problem is an answer in the spec's error format
// ([{"code":400,"description":"..."}] or <errors><error>...), with its
// HTTP status: 404 for what does not exist, 403 for a missing or wrong
// api_key, 400 for anything else the request cannot have (and 429, 500
// outside the spec's list).
type Problem struct {
	Status int
	Errors []Error
}

func (p *Problem) Error() string {
	parts := make([]string, len(p.Errors))
	for i, e := range p.Errors {
		parts[i] = e.Description
	}
	return fmt.Sprintf("open311 %d: %s", p.Status, strings.Join(parts, "; "))
}

// problem is a one-error Problem whose code is the HTTP status.
func problem(status int, description string) *Problem {
	return &Problem{Status: status, Errors: []Error{{Code: status, Description: description}}}
}

func (p *Problem) doc() doc {
	l := list{item: "error"}
	for _, e := range p.Errors {
		l.elems = append(l.elems, object{{"code", e.Code}, {"description", e.Description}})
	}
	return doc{root: "errors", val: l}
}

// write answers d with status in format.
func write(w http.ResponseWriter, format string, status int, d doc) {
	body := d.render(format)
	h := w.Header()
	if format == formatJSON {
		h.Set("Content-Type", "application/json; charset=utf-8")
	} else {
		h.Set("Content-Type", "text/xml; charset=utf-8")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
