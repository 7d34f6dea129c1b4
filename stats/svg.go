package stats

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// Charts are inline SVG drawn on the server: no script, no inline style
// (colours and dashes come from classes in stats.css, so the strict CSP
// holds), a title and a description for screen readers, and the numbers
// in a table next to every chart.

// series is one line of a line chart; nil values leave a gap.
type series struct {
	Name   string
	Class  string // s1, s2, s3: colour and dash pattern
	Values []*float64
}

func esc(s string) string { return html.EscapeString(s) }

// f1 formats a coordinate.
func f1(v float64) string { return fmt.Sprintf("%.1f", v) }

// lineChart draws rates (0–1) over periods as percentages.
func lineChart(id, title, desc string, labels []string, ss []series) template.HTML {
	const W, H, left, right, top, bottom = 720.0, 260.0, 48.0, 16.0, 16.0, 40.0
	pw, ph := W-left-right, H-top-bottom
	n := len(labels)
	x := func(i int) float64 {
		if n <= 1 {
			return left + pw/2
		}
		return left + pw*float64(i)/float64(n-1)
	}
	y := func(v float64) float64 { return top + ph*(1-math.Max(0, math.Min(1, v))) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="%s-t %s-d" focusable="false">`, W, H, id, id)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(desc))
	for _, g := range []float64{0, 0.25, 0.5, 0.75, 1} {
		fmt.Fprintf(&b, `<line class="grid" x1="%s" x2="%s" y1="%s" y2="%s"/>`, f1(left), f1(W-right), f1(y(g)), f1(y(g)))
		fmt.Fprintf(&b, `<text class="axis" x="%s" y="%s" text-anchor="end">%.0f%%</text>`, f1(left-6), f1(y(g)+4), g*100)
	}
	step := max(1, (n+7)/8)
	for i := 0; i < n; i += step {
		fmt.Fprintf(&b, `<text class="axis" x="%s" y="%s" text-anchor="middle">%s</text>`, f1(x(i)), f1(H-bottom+18), esc(shortDate(labels[i])))
	}
	for _, s := range ss {
		var d strings.Builder
		pen := false
		for i, v := range s.Values {
			if v == nil {
				pen = false
				continue
			}
			cmd := "L"
			if !pen {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%s %s ", cmd, f1(x(i)), f1(y(*v)))
			pen = true
		}
		if d.Len() > 0 {
			fmt.Fprintf(&b, `<path class="line %s" d="%s"/>`, s.Class, strings.TrimSpace(d.String()))
		}
		for i, v := range s.Values {
			if v != nil {
				fmt.Fprintf(&b, `<circle class="dot %s" cx="%s" cy="%s" r="3"><title>%s %s：%.2f%%</title></circle>`,
					s.Class, f1(x(i)), f1(y(*v)), esc(s.Name), esc(labels[i]), *v*100)
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// shortDate turns 2026-03-02 into 03-02.
func shortDate(s string) string {
	if len(s) == 10 {
		return s[5:]
	}
	return s
}

// sparkline draws a small trend of one figure (decorative: the card says
// the value in words).
func sparkline(vals []*float64, hours bool) template.HTML {
	const W, H, pad = 120.0, 32.0, 3.0
	hi := 1.0
	if hours {
		hi = 0
		for _, v := range vals {
			if v != nil {
				hi = math.Max(hi, *v)
			}
		}
		if hi == 0 {
			hi = 1
		}
	}
	n := len(vals)
	var d strings.Builder
	pen := false
	for i, v := range vals {
		if v == nil {
			pen = false
			continue
		}
		xx := W / 2
		if n > 1 {
			xx = pad + (W-2*pad)*float64(i)/float64(n-1)
		}
		yy := pad + (H-2*pad)*(1-math.Min(1, *v/hi))
		cmd := "L"
		if !pen {
			cmd = "M"
		}
		fmt.Fprintf(&d, "%s%s %s ", cmd, f1(xx), f1(yy))
		pen = true
	}
	if d.Len() == 0 {
		return ""
	}
	return template.HTML(fmt.Sprintf(`<svg class="spark" viewBox="0 0 %.0f %.0f" aria-hidden="true" focusable="false"><path class="line s1" d="%s"/></svg>`,
		W, H, strings.TrimSpace(d.String())))
}

// bar is one bar of a bar chart.
type bar struct {
	Label string
	Value float64 // rate 0–1, or hours
	Text  string  // the value as written
}

// barChart draws horizontal bars, longest for the largest value (rates on
// a 0–100% scale).
func barChart(id, title, desc string, bars []bar, hours bool) template.HTML {
	const W, rowH, left, right, top = 720.0, 26.0, 260.0, 80.0, 8.0
	H := top*2 + rowH*float64(len(bars))
	hi := 1.0
	if hours {
		hi = 0
		for _, b := range bars {
			hi = math.Max(hi, b.Value)
		}
		if hi == 0 {
			hi = 1
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart bars" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="%s-t %s-d" focusable="false">`, W, H, id, id)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(desc))
	for i, x := range bars {
		yy := top + rowH*float64(i)
		w := (W - left - right) * math.Max(0, math.Min(1, x.Value/hi))
		label := []rune(x.Label)
		if len(label) > 18 {
			label = append(label[:17], '…')
		}
		fmt.Fprintf(&b, `<text class="label" x="%s" y="%s" text-anchor="end">%s</text>`, f1(left-8), f1(yy+rowH/2+5), esc(string(label)))
		fmt.Fprintf(&b, `<rect class="bar" x="%s" y="%s" width="%s" height="%s"><title>%s：%s</title></rect>`,
			f1(left), f1(yy+4), f1(w), f1(rowH-8), esc(x.Label), esc(x.Text))
		fmt.Fprintf(&b, `<text class="value" x="%s" y="%s">%s</text>`, f1(left+w+6), f1(yy+rowH/2+5), esc(x.Text))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
