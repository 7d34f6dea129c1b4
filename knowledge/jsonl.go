package knowledge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Record is one line of the JSON lines import and export format:
//
//	{"id", "type": "qa"|"guide", "title", "question", "answer", "guide": {八统一} | null,
//	 "categories": [...], "region", "visibility": "public"|"internal", "tags": [...],
//	 "effective_from": "YYYY-MM-DD"|null, "expires_on": "YYYY-MM-DD"|null}
//
// with three optional keys of our own: "basis" (policy basis of a Q&A),
// "owner_unit" and "synonyms". Unknown keys are refused, so a misspelt
// key is reported rather than silently lost.
type Record struct {
	ID            string       `json:"id"`
	Type          Type         `json:"type"`
	Title         string       `json:"title"`
	Question      *string      `json:"question"`
	Answer        *string      `json:"answer"`
	Guide         *GuideFields `json:"guide"`
	Categories    []string     `json:"categories"`
	Region        string       `json:"region"`
	Visibility    Visibility   `json:"visibility"`
	Tags          []string     `json:"tags"`
	EffectiveFrom *string      `json:"effective_from"`
	ExpiresOn     *string      `json:"expires_on"`
	Basis         string       `json:"basis,omitempty"`
	OwnerUnit     string       `json:"owner_unit,omitempty"`
	Synonyms      []string     `json:"synonyms,omitempty"`
}

// maxLine caps one line of an import (an article is far smaller).
const maxLine = 1 << 20

// LineError is a problem on one line of an import.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Decoder reads records from JSON lines. Blank lines are skipped.
type Decoder struct {
	r    *bufio.Reader
	line int
}

// NewDecoder returns a decoder reading r.
func NewDecoder(r io.Reader) *Decoder { return &Decoder{r: bufio.NewReaderSize(r, 64<<10)} }

// Next returns the next record and its ID-less validated content; io.EOF
// after the last. A malformed line is a *LineError; the decoder can go on
// with the next line after one.
func (d *Decoder) Next() (Record, Content, error) {
	for {
		line, err := d.readLine()
		if err != nil {
			return Record{}, Content{}, err
		}
		d.line++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rec, c, err := ParseRecord(line)
		if err != nil {
			return rec, c, &LineError{Line: d.line, Err: err}
		}
		return rec, c, nil
	}
}

// Line is the number of the line last read.
func (d *Decoder) Line() int { return d.line }

func (d *Decoder) readLine() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := d.r.ReadSlice('\n')
		if len(buf)+len(chunk) > maxLine {
			// Skip the rest of the line, then report it.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = d.r.ReadSlice('\n')
			}
			d.line++
			return nil, &LineError{Line: d.line, Err: fmt.Errorf("line longer than %d bytes", maxLine)}
		}
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			return buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) > 0:
			return buf, nil
		default:
			return nil, err
		}
	}
}

// ParseRecord decodes and validates one line.
func ParseRecord(line []byte) (Record, Content, error) {
	var rec Record
	if !utf8.Valid(line) {
		return rec, Content{}, errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return rec, Content{}, fmt.Errorf("JSON: %w", err)
	}
	if dec.More() {
		return rec, Content{}, errors.New("JSON: more than one value on the line")
	}
	rec.ID = strings.TrimSpace(rec.ID)
	if !ValidID(rec.ID) {
		return rec, Content{}, invalid("id", "编号应为 1–100 个字母、数字或 . _ : -")
	}
	c, err := rec.Content()
	return rec, c, err
}

func parseDate(field string, s *string) (*time.Time, error) {
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil, nil
	}
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(*s))
	if err != nil {
		return nil, invalid(field, "日期格式应为 YYYY-MM-DD")
	}
	return &t, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Content returns the record's validated content.
func (r Record) Content() (Content, error) {
	c := Content{Type: r.Type, Title: r.Title, Question: deref(r.Question), Answer: deref(r.Answer), Basis: r.Basis,
		Guide: r.Guide, Categories: r.Categories, Region: r.Region, Visibility: r.Visibility, Tags: r.Tags, Synonyms: r.Synonyms}
	var err error
	if c.EffectiveFrom, err = parseDate("effective_from", r.EffectiveFrom); err != nil {
		return c, err
	}
	if c.ExpiresOn, err = parseDate("expires_on", r.ExpiresOn); err != nil {
		return c, err
	}
	if c.Type == QA && c.Guide != nil && *c.Guide == (GuideFields{}) {
		c.Guide = nil
	}
	return c, c.Check()
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func datePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.Format(time.DateOnly)
	return &s
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// RecordOf returns the export record of an article version.
func RecordOf(a *Article) Record {
	r := Record{ID: a.ID, Type: a.Type, Title: a.Title, Guide: a.Guide, Categories: orEmpty(a.Categories), Region: a.Region,
		Visibility: a.Visibility, Tags: orEmpty(a.Tags), EffectiveFrom: datePtr(a.EffectiveFrom), ExpiresOn: datePtr(a.ExpiresOn),
		Basis: a.Basis, OwnerUnit: a.OwnerUnit, Synonyms: a.Synonyms}
	if a.Type == QA {
		r.Question, r.Answer = strPtr(a.Question), strPtr(a.Answer)
		if r.Answer == nil {
			r.Answer = new(string)
		}
	}
	return r
}

// Encode writes r as one JSON line (Chinese unescaped).
func (r Record) Encode(w io.Writer) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
