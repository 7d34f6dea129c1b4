package triage

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxLine is the longest input line RunCLI accepts.
const maxLine = 1 << 20

type cliIn struct {
	ID      any     `json:"id"`
	Text    *string `json:"text"`
	Channel string  `json:"channel"`
}

type cliOut struct {
	ID           any      `json:"id"`
	Category     string   `json:"category,omitempty"`
	CategoryTop3 []string `json:"category_top3,omitempty"`
	TownshipCode *string  `json:"township_code"`
	CountyCode   *string  `json:"county_code"`
	Kind         string   `json:"kind,omitempty"`
	Urgency      string   `json:"urgency,omitempty"`
	LeadUnit     string   `json:"lead_unit,omitempty"`
	Confidence   float64  `json:"confidence"`
}

type cliErr struct {
	ID    any    `json:"id"`
	Error string `json:"error"`
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// RunCLI implements the command-line contract of `yici triage`: it reads
// JSON lines {"id", "text", "channel"} and writes one JSON line per input
// line: {"id", "category", "category_top3", "township_code" (string or
// null), "county_code" (string or null), "kind", "urgency", "lead_unit",
// "confidence"}. A line that is not valid JSON, or has no text, or an
// unknown channel, gets a line {"id", "error"} and the stream goes on; blank
// lines are skipped. It returns an error only when reading or writing fails.
func RunCLI(in io.Reader, out io.Writer, t *Triager) error {
	if t == nil {
		return errors.New("triage: no triager")
	}
	r := bufio.NewReaderSize(in, 64*1024)
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for n := 1; ; n++ {
		line, tooLong, err := readLine(r)
		if err != nil && err != io.EOF {
			w.Flush()
			return err
		}
		var o any
		skip := false
		switch {
		case tooLong:
			o = cliErr{Error: fmt.Sprintf("line %d: longer than %d bytes", n, maxLine)}
		case len(bytes.TrimSpace(line)) == 0:
			skip = true
		default:
			o = handleLine(line, n, t)
		}
		if !skip {
			if e := enc.Encode(o); e != nil {
				return e
			}
		}
		if err == io.EOF {
			break
		}
	}
	return w.Flush()
}

// readLine reads one line without its end of line. A line longer than
// maxLine is consumed and reported with tooLong. At the end of the input it
// returns the last (unterminated) line, if any, with io.EOF.
func readLine(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		frag, e := r.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(frag) > maxLine {
				tooLong, line = true, nil
			} else {
				line = append(line, frag...)
			}
		}
		if errors.Is(e, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), tooLong, e
	}
}

func handleLine(line []byte, n int, t *Triager) any {
	var req cliIn
	if err := json.Unmarshal(line, &req); err != nil {
		return cliErr{Error: fmt.Sprintf("line %d: not a JSON object: %v", n, err)}
	}
	if req.Text == nil || strings.TrimSpace(*req.Text) == "" {
		return cliErr{ID: req.ID, Error: fmt.Sprintf("line %d: no text", n)}
	}
	ch := strings.ToLower(strings.TrimSpace(req.Channel))
	if ch != "" && !validChannel(ch) {
		return cliErr{ID: req.ID, Error: fmt.Sprintf("line %d: unknown channel %q (phone|web|app|kiosk|grid)", n, req.Channel)}
	}
	o := cliOut{ID: req.ID}
	s := t.Suggest(*req.Text, ch)
	o.Category = s.Category
	for _, c := range s.Top3 {
		o.CategoryTop3 = append(o.CategoryTop3, c.Code)
	}
	o.TownshipCode = strOrNil(s.TownshipCode)
	o.CountyCode = strOrNil(s.CountyCode)
	o.Kind, o.Urgency, o.LeadUnit = s.Kind, s.Urgency, s.LeadUnit
	o.Confidence = s.Confidence
	return o
}

func validChannel(ch string) bool {
	for _, c := range Channels {
		if c == ch {
			return true
		}
	}
	return false
}
