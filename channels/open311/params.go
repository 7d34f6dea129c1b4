package open311

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// splitFormat splits "requests.json" into "requests" and "json". ok is
// false without one of the two formats the spec allows.
func splitFormat(file string) (name, format string, ok bool) {
	i := strings.LastIndexByte(file, '.')
	if i <= 0 {
		return file, "", false
	}
	switch f := strings.ToLower(file[i+1:]); f {
	case formatJSON, formatXML:
		return file[:i], f, true
	}
	return file[:i], "", false
}

// formatOf is the answer format of a path: JSON for .json, else XML (the
// format every GeoReport server must offer), so that even a request for an
// unknown format gets an error it can read.
func formatOf(path string) string {
	if strings.HasSuffix(strings.ToLower(path), ".json") {
		return formatJSON
	}
	return formatXML
}

// param returns a parameter, its repeated values joined by commas
// ("can be declared multiple times, comma delimited"). An empty value is a
// missing one: the spec says a parameter passed empty must be treated as
// not passed at all.
func param(v url.Values, name string) string {
	var parts []string
	for _, s := range v[name] {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ",")
}

// commaList splits a comma-delimited parameter, dropping empty items.
func commaList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseTime reads a date or date-time in the W3C profile of ISO 8601 the
// spec uses: 2010-01-01T00:00:00Z, with an offset, with or without seconds
// and fractions, or a bare date (midnight in China). A "+" of an offset
// that arrived unescaped in a query string (and so became a space) is read
// as the "+" it was.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		return time.Time{}, false
	}
	if i := strings.LastIndexByte(s, ' '); i > 0 && strings.Contains(s[:i], "T") {
		s = s[:i] + "+" + s[i+1:]
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", s, cst); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// maxWindow is the longest span of start_date to end_date: "may not span
// more than 90 days"; without them the range is the most recent 90 days.
const maxWindow = 90 * 24 * time.Hour

// window reads start_date and end_date: both given, they may not be more
// than 90 days apart; one given, the other is 90 days from it; neither, the
// last 90 days up to now.
func window(v url.Values, now time.Time) (start, end time.Time, p *Problem) {
	s, e := param(v, "start_date"), param(v, "end_date")
	var hasS, hasE bool
	if s != "" {
		if start, hasS = parseTime(s); !hasS {
			return start, end, problem(http.StatusBadRequest, "start_date 不是有效的时间，应为 W3C 格式（如 2026-01-01T00:00:00+08:00）"+
				" (start_date must be a W3C date-time such as 2026-01-01T00:00:00Z)")
		}
	}
	if e != "" {
		if end, hasE = parseTime(e); !hasE {
			return start, end, problem(http.StatusBadRequest, "end_date 不是有效的时间，应为 W3C 格式（如 2026-01-31T23:59:59+08:00）"+
				" (end_date must be a W3C date-time such as 2026-01-31T23:59:59Z)")
		}
	}
	switch {
	case hasS && hasE:
		if end.Before(start) {
			return start, end, problem(http.StatusBadRequest, "end_date 不能早于 start_date (end_date must not be before start_date)")
		}
		if end.Sub(start) > maxWindow {
			return start, end, problem(http.StatusBadRequest, "start_date 与 end_date 相隔不能超过 90 天 (start_date and end_date may not span more than 90 days)")
		}
	case hasS:
		end = start.Add(maxWindow)
	case hasE:
		start = end.Add(-maxWindow)
	default:
		end = now
		start = now.Add(-maxWindow)
	}
	return start, end, nil
}

// Paging: the page and page_size extension
// (wiki.open311.org/GeoReport_v2/Extensions, "Pagination"). The default
// page is the spec's "first 1000 requests".
const (
	maxPageSize = 1000
	maxOffset   = 100_000
)

func paging(v url.Values) (limit, offset int, p *Problem) {
	page, size := 1, maxPageSize
	if s := param(v, "page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return 0, 0, problem(http.StatusBadRequest, "page 应为正整数 (page must be a positive integer)")
		}
		page = n
	}
	if s := param(v, "page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			return 0, 0, problem(http.StatusBadRequest, "page_size 应为 1 到 1000 之间的整数 (page_size must be an integer from 1 to 1000)")
		}
		size = n
	}
	if page > maxOffset/size+1 {
		return 0, 0, problem(http.StatusBadRequest, "翻页过深，请缩小 start_date 与 end_date 的范围 (page too deep: narrow start_date and end_date)")
	}
	return size, (page - 1) * size, nil
}

// truthy reads a boolean parameter (extensions=true).
func truthy(s string) bool {
	switch strings.ToLower(s) {
	case "true", "1", "yes":
		return true
	}
	return false
}
