package kiosk

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"yici/cases"
	"yici/channels"
	"yici/internal/httpx"
	"yici/internal/workcal"
)

// Receipt printers: 32 columns of text (a Chinese character takes two),
// 384 dots across for images (58 mm paper at 203 dpi).
const (
	ReceiptColumns = 32
	ReceiptWidth   = 384
)

var shanghai = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()

// GroupTrackingNo groups a tracking number for reading aloud: the date of
// registration, then the serial in fours, then the check digit
// (260315 1234 5678 9).
func GroupTrackingNo(no string) string {
	if len(no) != cases.TrackingLen {
		return no
	}
	return no[:6] + " " + no[6:10] + " " + no[10:14] + " " + no[14:]
}

// receipt is what a receipt says, whatever it is printed as.
type receipt struct {
	no       string
	at       time.Time
	category string
	state    string
	deadline []string
	trackURL string
	phone    bool
}

func (h *Handler) receiptOf(r *http.Request, c *cases.Case) receipt {
	rc := receipt{no: c.TrackingNo, at: c.CreatedAt.In(shanghai), state: c.State.PublicLabel(),
		trackURL: h.baseURL(r) + "/track?no=" + url.QueryEscape(c.TrackingNo), phone: cases.PhoneLast4(c.CitizenPhone) != ""}
	rc.category = "待工作人员确认"
	if cat := h.tax.Category(c.Category); cat != nil {
		rc.category = cat.Group + "/" + cat.Name
	}
	rc.deadline = deadlineLines(c)
	return rc
}

// deadlineLines explain the time limit of a case in plain words.
func deadlineLines(c *cases.Case) []string {
	switch c.State {
	case cases.Answered:
		return []string{"已当场答复"}
	case cases.Archived, cases.Merged:
		return []string{c.State.PublicLabel()}
	}
	var out []string
	if res := c.Policy.Resolve; res.N > 0 {
		out = append(out, "自派单起"+res.String()+"内办结")
		if res.Unit != workcal.Hours {
			out = append(out, "（节假日顺延）")
		}
	} else {
		out = append(out, "按规定时限办理")
	}
	if c.DueAt != nil && c.State.Open() {
		out = append(out, "办结期限："+c.DueAt.In(shanghai).Format("2006-01-02 15:04"))
	} else if c.State == cases.Registered || c.State == cases.PendingDispatch {
		out = append(out, "派单后开始计时")
	}
	return out
}

// baseURL is the public base of links: Options.PublicURL, else the
// request's host over http (a host that is not one is not echoed).
func (h *Handler) baseURL(r *http.Request) string {
	if h.opts.PublicURL != "" {
		return strings.TrimRight(h.opts.PublicURL, "/")
	}
	host := r.Host
	if host == "" || strings.Trim(strings.ToLower(host), "abcdefghijklmnopqrstuvwxyz0123456789.-:[]") != "" {
		host = "localhost"
	}
	return "http://" + host
}

// Text renders the receipt for a 32-column printer with a Chinese font.
func (rc receipt) Text() string {
	var b strings.Builder
	line := func(s string) {
		for _, l := range wrap(s, ReceiptColumns) {
			b.WriteString(strings.TrimRight(l, " "))
			b.WriteByte('\n')
		}
	}
	// field writes "label：value" with the value's continuation lines
	// under the value.
	field := func(label, value string) {
		lines := wrap(label+"："+value, ReceiptColumns)
		indent := strings.Repeat(" ", width(label+"："))
		line(lines[0])
		rest := strings.Join(lines[1:], "")
		for _, l := range wrap(rest, ReceiptColumns-width(indent)) {
			if l != "" {
				line(indent + l)
			}
		}
	}
	rule := strings.Repeat("=", ReceiptColumns)
	title := "12345 热线受理回执"
	line(rule)
	line(strings.Repeat(" ", (ReceiptColumns-width(title))/2) + title)
	line(rule)
	line("受理编号：")
	no := GroupTrackingNo(rc.no)
	line(strings.Repeat(" ", (ReceiptColumns-width(no))/2) + no)
	field("受理时间", rc.at.Format("2006-01-02 15:04"))
	field("受理渠道", "自助终端")
	field("类别", rc.category)
	field("状态", rc.state)
	line(strings.Repeat("-", ReceiptColumns))
	line("办理时限：")
	for _, d := range rc.deadline {
		line(d)
	}
	line(strings.Repeat("-", ReceiptColumns))
	line("查询方式：")
	if rc.phone {
		line("1. 扫描二维码或访问：")
		for _, l := range urlLines(rc.trackURL, ReceiptColumns) {
			line(l)
		}
		line("2. 凭受理编号和手机号后四位查询")
		line("3. 拨打12345热线查询")
	} else {
		line("本件未留手机号，")
		line("请拨打12345热线凭受理编号查询。")
	}
	line(rule)
	line("请妥善保管本回执，勿交他人。")
	return b.String()
}

// width is the number of printer columns of s: two for wide (CJK and
// full-width) characters, one for the rest.
func width(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	switch {
	case r < 0x1100:
		return 1
	case r <= 0x115F, // Hangul Jamo
		r >= 0x2E80 && r <= 0xA4CF && r != 0x303F, // CJK radicals .. Yi
		r >= 0xAC00 && r <= 0xD7A3,                // Hangul syllables
		r >= 0xF900 && r <= 0xFAFF,                // CJK compatibility ideographs
		r >= 0xFE30 && r <= 0xFE4F,                // CJK compatibility forms
		r >= 0xFF00 && r <= 0xFF60,                // full-width forms
		r >= 0xFFE0 && r <= 0xFFE6,
		r >= 0x20000 && r <= 0x3FFFD:
		return 2
	}
	return 1
}

// wrap breaks s into lines of at most cols columns (a character wider
// than cols gets a line of its own). URLs and numbers are broken anywhere:
// receipts are read, not copied.
func wrap(s string, cols int) []string {
	var out []string
	var cur strings.Builder
	w := 0
	for _, r := range s {
		rw := runeWidth(r)
		if w+rw > cols && w > 0 {
			out = append(out, cur.String())
			cur.Reset()
			w = 0
		}
		cur.WriteRune(r)
		w += rw
	}
	return append(out, cur.String())
}

// urlLines breaks a tracking link that does not fit after its last "=",
// so that the tracking number stays whole on a line of its own.
func urlLines(u string, cols int) []string {
	i := strings.LastIndexByte(u, '=') + 1
	if width(u) <= cols || i == 0 {
		return wrap(u, cols)
	}
	return append(wrap(u[:i], cols), wrap(u[i:], cols)...)
}

// PNG renders the receipt for a 384-dot thermal printer: the QR code of
// the tracking link and the tracking number in large digits, with the
// time and the link in small print. It has no Chinese: the kiosk prints
// the text receipt with the printer's own font and this image below it.
func (rc receipt) PNG() ([]byte, error) {
	q, err := qrcode.New(rc.trackURL, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("kiosk: QR code of %q: %w", rc.trackURL, err)
	}
	q.DisableBorder = true
	modules := q.Bitmap()
	n := len(modules)
	const quiet = 4 // modules of white around the code
	scale := ReceiptWidth / (n + 2*quiet)
	if scale < 1 {
		return nil, fmt.Errorf("kiosk: QR code of %d modules is wider than the paper", n)
	}

	cv := newCanvas()
	cv.y = 16
	cv.text("12345", 4)
	cv.y += 8
	// The QR code, centred, with its quiet zone.
	side := n * scale
	x0 := (ReceiptWidth - side) / 2
	cv.y += quiet * scale
	for my, row := range modules {
		for mx, dark := range row {
			if dark {
				cv.rect(x0+mx*scale, cv.y+my*scale, scale, scale)
			}
		}
	}
	cv.y += side + quiet*scale
	cv.text(GroupTrackingNo(rc.no), 3)
	cv.y += 10
	cv.text(rc.at.Format("2006-01-02 15:04")+" UTC+8", 2)
	cv.y += 10
	for _, l := range urlLines(asciiOnly(rc.trackURL), ReceiptWidth/(glyphAdvance*2)-1) {
		cv.text(l, 2)
		cv.y += 4
	}
	cv.y += 16
	return cv.png()
}

// asciiOnly replaces what the bitmap font cannot draw.
func asciiOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7E {
			return '?'
		}
		return r
	}, s)
}

// canvas is a growing one-bit image 384 dots wide.
type canvas struct {
	rows [][]bool
	y    int
}

func newCanvas() *canvas { return &canvas{} }

func (c *canvas) set(x, y int) {
	if x < 0 || x >= ReceiptWidth || y < 0 {
		return
	}
	for len(c.rows) <= y {
		c.rows = append(c.rows, make([]bool, ReceiptWidth))
	}
	c.rows[y][x] = true
}

func (c *canvas) rect(x, y, w, h int) {
	for dy := 0; dy < h; dy++ {
		for dx := 0; dx < w; dx++ {
			c.set(x+dx, y+dy)
		}
	}
}

// text draws one line centred at the current y, in the 5×7 font scaled
// by scale, and moves y below it.
func (c *canvas) text(s string, scale int) {
	w := len(s)*glyphAdvance*scale - scale
	x := (ReceiptWidth - w) / 2
	for i := 0; i < len(s); i++ {
		g := glyph(s[i])
		for col := 0; col < 5; col++ {
			bits := g[col]
			for row := 0; row < 7; row++ {
				if bits&(1<<row) != 0 {
					c.rect(x+(i*glyphAdvance+col)*scale, c.y+row*scale, scale, scale)
				}
			}
		}
	}
	c.y += 7 * scale
}

func (c *canvas) png() ([]byte, error) {
	for len(c.rows) < c.y {
		c.rows = append(c.rows, make([]bool, ReceiptWidth))
	}
	img := image.NewPaletted(image.Rect(0, 0, ReceiptWidth, len(c.rows)), color.Palette{color.White, color.Black})
	for y, row := range c.rows {
		for x, dark := range row {
			if dark {
				img.Pix[y*img.Stride+x] = 1
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// handleReceipt answers the receipt of a case the kiosk filed, as text
// (default) or PNG. Any other case, or a number that does not exist, is a
// 404: a kiosk learns nothing of cases it did not file.
func (h *Handler) handleReceipt(w http.ResponseWriter, r *http.Request, key channels.Key) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "text" && format != "png" {
		httpx.Error(w, http.StatusBadRequest, channels.Message("format", "oneof", "text png"))
		return
	}
	notFound := func() {
		httpx.Error(w, http.StatusNotFound, httpx.FieldError{Field: "tracking_no", Rule: "not_found",
			MessageZH: "本终端没有该受理编号的回执", MessageEN: "this kiosk has no receipt with this tracking number"})
	}
	no := cases.NormalizeTrackingNo(r.PathValue("tracking_no"))
	if !cases.ValidTrackingNo(no) {
		notFound()
		return
	}
	c, err := h.cs.GetByTrackingNo(r.Context(), no)
	if errors.Is(err, cases.ErrNotFound) {
		notFound()
		return
	}
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if c.Channel != cases.ChannelKiosk || c.Reporter != reporter(key) || !strings.HasPrefix(c.ChannelRef, key.ID.String()+":") {
		notFound()
		return
	}
	rc := h.receiptOf(r, c)
	if format == "png" {
		b, err := rc.PNG()
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, rc.Text())
}
