package cases

import (
	"regexp"
	"strings"
)

var (
	mobileRe   = regexp.MustCompile(`^1[3-9]\d{9}$`)
	landlineRe = regexp.MustCompile(`^(0(?:10|2\d|[3-9]\d{2}))(\d{7,8})$`)
)

// NormalizePhone returns a mainland phone number in its standard form:
// 13812345678 for mobiles, 0571-88001234 for landlines (area code and
// number). Country codes (+86, 0086), spaces, dashes and brackets are
// removed; full-width digits are read. ok is false for anything else.
func NormalizePhone(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		case r == '+' || r == '＋':
			b.WriteByte('+')
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '（' || r == '）' || r == '　' || r == '－':
		default:
			return "", false
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(d, "+86"):
		d = d[3:]
	case strings.HasPrefix(d, "0086"):
		d = d[4:]
	case strings.HasPrefix(d, "86") && len(d) == 13:
		d = d[2:]
	}
	if strings.Contains(d, "+") {
		return "", false
	}
	if mobileRe.MatchString(d) {
		return d, true
	}
	if m := landlineRe.FindStringSubmatch(d); m != nil {
		return m[1] + "-" + m[2], true
	}
	return "", false
}
