package web

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"yici/cases"
	"yici/channels"
	"yici/internal/httpx"
)

// Names of the form's fields. The text fields carry the names of
// channels.Submission, so the intake's field errors land next to them.
const (
	fToken     = "token"
	fKind      = "kind"
	fCategory  = "category"
	fContent   = "content"
	fCity      = "city"
	fCounty    = "county_code"
	fTownship  = "township_code"
	fAddress   = "address"
	fName      = "citizen_name"
	fPhone     = "phone"
	fAnonymous = "anonymous"
	fPhotos    = "photos"
)

// textFields are the text fields read; any other field is ignored.
var textFields = map[string]bool{fToken: true, fKind: true, fCategory: true, fContent: true, fCity: true, fCounty: true,
	fTownship: true, fAddress: true, fName: true, fPhone: true, fAnonymous: true}

// maxRunes is how long a text field may be, in characters, when the
// intake does not say (its own limits are checked again there).
var maxRunes = map[string]int{fContent: 4000, fAddress: 200, fName: 50, fPhone: 40, fToken: 100}

const (
	// maxFieldBytes caps one text field as read (4000 characters of
	// content are at most 16,000 bytes of UTF-8).
	maxFieldBytes = 64 << 10
	// maxParts caps the parts of a multipart body (11 text fields, 6
	// photos and whatever a browser adds).
	maxParts = 64
	// maxURLEncoded caps a form posted without photos.
	maxURLEncoded = 1 << 20
)

// imageTypes are the photos accepted, by sniffed type.
var imageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// Form is the report form as posted: its fields as typed (valid UTF-8:
// invalid bytes are shown as U+FFFD) and the photos, not yet stored.
type Form struct {
	Token     string
	Kind      string
	Category  string
	Content   string
	City      string
	County    string
	Township  string
	Address   string
	Name      string
	Phone     string
	Anonymous bool
	Photos    []Photo
	// PhotosSent counts the photos chosen, kept or not: a form shown again
	// asks for them again (browsers never refill a file input).
	PhotosSent int
}

// Photo is one uploaded image.
type Photo struct {
	Name string
	Data []byte
}

// problems collects field errors and the status to answer them with.
type problems struct {
	status int
	errs   httpx.Errors
}

// statusRank orders the statuses of field errors: a body cut short (413)
// explains the rest; malformed input (400) comes before unacceptable (422).
func statusRank(s int) int {
	switch s {
	case http.StatusRequestEntityTooLarge:
		return 3
	case http.StatusBadRequest:
		return 2
	case http.StatusUnprocessableEntity:
		return 1
	}
	return 0
}

func (p *problems) add(status int, fes ...httpx.FieldError) {
	for _, fe := range fes {
		dup := false
		for _, e := range p.errs {
			if e.Field == fe.Field && e.Rule == fe.Rule {
				dup = true
				break
			}
		}
		if !dup {
			p.errs = append(p.errs, fe)
		}
	}
	if statusRank(status) > statusRank(p.status) {
		p.status = status
	}
}

// merge adds the field errors of err (httpx.Errors, *httpx.Problem or
// httpx.FieldError); it reports false for any other error.
func (p *problems) merge(err error) bool {
	var pr *httpx.Problem
	var es httpx.Errors
	var fe httpx.FieldError
	switch {
	case err == nil:
	case errors.As(err, &pr):
		p.add(pr.Status, pr.Errs...)
	case errors.As(err, &es):
		p.add(http.StatusBadRequest, es...)
	case errors.As(err, &fe):
		p.add(http.StatusBadRequest, fe)
	default:
		return false
	}
	return true
}

func (p *problems) empty() bool { return len(p.errs) == 0 }

func (p *problems) err() error {
	if p.empty() {
		return nil
	}
	return &httpx.Problem{Status: p.status, Errs: p.errs}
}

// fieldError is a field error of the form's own fields and rules (the
// intake's fields and rules are channels.Message's).
func fieldError(field, rule string, param ...string) httpx.FieldError {
	fe := httpx.FieldError{Field: field, Rule: rule}
	switch field + "/" + rule {
	case "token/token":
		fe.MessageZH, fe.MessageEN = "页面已过期或不完整，请检查后再次点击“提交”", "the form has expired or is incomplete; check it and submit again"
	case "city/exists":
		fe.MessageZH, fe.MessageEN = "所选的市不存在，请重新选择", "unknown city"
	case "county_code/in_city":
		fe.MessageZH, fe.MessageEN = "所选县（市、区）不属于所选的市，请重新选择", "the county is not in the city chosen"
	case "township_code/in_county":
		fe.MessageZH, fe.MessageEN = "所选乡镇（街道）不属于所选县（市、区），请重新选择", "the township is not in the county chosen"
	case "anonymous/bool":
		fe.MessageZH, fe.MessageEN = "匿名选项无效", "anonymous must be on or off"
	case "photos/max_files":
		fe.MessageZH, fe.MessageEN = fmt.Sprintf("最多上传 %d 张照片", channels.MaxFiles), fmt.Sprintf("at most %d photos", channels.MaxFiles)
	case "photos/max_size":
		fe.MessageZH, fe.MessageEN = fmt.Sprintf("每张照片不能超过 %d MB", channels.MaxFileSize>>20), fmt.Sprintf("a photo may be at most %d MB", channels.MaxFileSize>>20)
	case "photos/type":
		fe.MessageZH, fe.MessageEN = "只能上传图片（JPG、PNG、GIF、WebP）", "only images (JPEG, PNG, GIF, WebP) are accepted"
	case "body/max_bytes":
		size := sizeText(DefaultMaxBody)
		if len(param) > 0 {
			size = param[0]
		}
		fe.MessageZH = "提交的内容超过 " + size + "，照片未能上传：请减少照片数量或压缩后重新选择"
		fe.MessageEN = "the form is larger than " + size + "; the photos were not uploaded: choose fewer or smaller ones"
	case "body/fields":
		fe.MessageZH, fe.MessageEN = "提交的字段过多，请刷新页面后重新填写", "too many fields"
	case "body/content_type":
		fe.MessageZH, fe.MessageEN = "提交的格式不正确，请通过本页面的表单提交", "the form must be posted as multipart/form-data or application/x-www-form-urlencoded"
	default: // body/read
		fe.Field, fe.Rule = "body", "read"
		fe.MessageZH, fe.MessageEN = "提交的内容不完整或格式不正确，请重新提交", "the form could not be read; submit it again"
	}
	return fe
}

// sizeText writes a byte count for people: "40 MB", "64 KB".
func sizeText(n int64) string {
	if n >= 1<<20 {
		return strconv.FormatInt(n>>20, 10) + " MB"
	}
	return strconv.FormatInt(max(n>>10, 1), 10) + " KB"
}

// ownLabels name the form's fields that the intake does not know.
var ownLabels = map[string]string{fCity: "市", fAnonymous: "匿名选项", fToken: "表单编号", fPhotos: "照片"}

// message is channels.Message, with the form's own fields named in Chinese.
func message(field, rule, param string) httpx.FieldError {
	fe := channels.Message(field, rule, param)
	if l, ok := ownLabels[field]; ok && strings.HasPrefix(fe.MessageZH, field) {
		fe.MessageZH = l + strings.TrimPrefix(fe.MessageZH, field)
	}
	return fe
}

// tooLong is the error of a field longer than it may be.
func tooLong(field string) httpx.FieldError {
	n, ok := maxRunes[field]
	if !ok {
		n = 100
	}
	return message(field, "max", strconv.Itoa(n))
}

// ReadForm reads the report form of a POST: multipart/form-data (with
// photos) or application/x-www-form-urlencoded, at most limit bytes. A body
// parsed before (r.MultipartForm, r.PostForm) is taken as it is. The form
// holds whatever could be read, for showing it again, even when err is not
// nil; err is a *httpx.Problem of field errors: 413 for a body over the
// limit, 400 for malformed input, 422 for refused photos.
func ReadForm(r *http.Request, limit int64) (*Form, error) {
	f := &Form{}
	var p problems
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case r.MultipartForm != nil:
		f.readParsed(r.MultipartForm, limit, &p)
	case mt == "application/x-www-form-urlencoded" && r.PostForm != nil:
		f.readValues(r.PostForm, &p)
	case mt == "multipart/form-data":
		f.readMultipart(http.MaxBytesReader(nil, r.Body, limit), params["boundary"], &p)
	case mt == "application/x-www-form-urlencoded":
		if limit > maxURLEncoded {
			limit = maxURLEncoded
		}
		data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
		if err != nil {
			f.readFailed(err, &p)
			break
		}
		vals, err := url.ParseQuery(string(data))
		if err != nil {
			p.add(http.StatusBadRequest, fieldError("body", "read"))
		}
		f.readValues(vals, &p)
	default:
		p.add(http.StatusBadRequest, fieldError("body", "content_type"))
	}
	return f, p.err()
}

func (f *Form) readValues(vals url.Values, p *problems) {
	for name, vs := range vals {
		if len(vs) > 0 && textFields[name] {
			data := vs[0]
			if len(data) > maxFieldBytes {
				f.text(name, data[:maxFieldBytes], true, p)
			} else {
				f.text(name, data, false, p)
			}
		}
	}
}

func (f *Form) readParsed(mf *multipart.Form, limit int64, p *problems) {
	f.readValues(mf.Value, p)
	var total int64
	for _, fh := range mf.File[fPhotos] {
		total += fh.Size
	}
	if total > limit {
		f.PhotosSent = len(mf.File[fPhotos])
		p.add(http.StatusRequestEntityTooLarge, fieldError("body", "max_bytes", sizeText(limit)))
		return
	}
	for _, fh := range mf.File[fPhotos] {
		if f.PhotosSent >= channels.MaxFiles {
			f.photo(fh.Filename, nil, false, p)
			continue
		}
		rc, err := fh.Open()
		if err != nil {
			p.add(http.StatusBadRequest, fieldError("body", "read"))
			return
		}
		data, err := io.ReadAll(io.LimitReader(rc, channels.MaxFileSize+1))
		rc.Close()
		if err != nil {
			p.add(http.StatusBadRequest, fieldError("body", "read"))
			return
		}
		f.photo(fh.Filename, data, len(data) > channels.MaxFileSize, p)
	}
}

func (f *Form) readMultipart(body io.Reader, boundary string, p *problems) {
	if boundary == "" {
		p.add(http.StatusBadRequest, fieldError("body", "read"))
		return
	}
	mr := multipart.NewReader(body, boundary)
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			f.readFailed(err, p)
			return
		}
		if parts >= maxParts {
			p.add(http.StatusBadRequest, fieldError("body", "fields"))
			return
		}
		name := part.FormName()
		switch {
		case name == fPhotos:
			if f.PhotosSent >= channels.MaxFiles {
				// Only whether it is empty matters: it is refused.
				var one [1]byte
				n, err := io.ReadFull(part, one[:])
				if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
					f.readFailed(err, p)
					return
				}
				if n > 0 {
					f.photo(part.FileName(), one[:n], false, p)
				}
				continue
			}
			data, err := io.ReadAll(io.LimitReader(part, channels.MaxFileSize+1))
			if err != nil {
				f.PhotosSent++
				f.readFailed(err, p)
				return
			}
			f.photo(part.FileName(), data, len(data) > channels.MaxFileSize, p)
		case textFields[name]:
			data, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil {
				f.readFailed(err, p)
				return
			}
			if len(data) > maxFieldBytes {
				f.text(name, string(data[:maxFieldBytes]), true, p)
			} else {
				f.text(name, string(data), false, p)
			}
		}
	}
}

// readFailed turns a failed read of the body into its field error.
func (f *Form) readFailed(err error, p *problems) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		p.add(http.StatusRequestEntityTooLarge, fieldError("body", "max_bytes", sizeText(mbe.Limit)))
		return
	}
	p.add(http.StatusBadRequest, fieldError("body", "read"))
}

// field is where a text field goes (nil for anonymous, a flag).
func (f *Form) field(name string) *string {
	switch name {
	case fToken:
		return &f.Token
	case fKind:
		return &f.Kind
	case fCategory:
		return &f.Category
	case fContent:
		return &f.Content
	case fCity:
		return &f.City
	case fCounty:
		return &f.County
	case fTownship:
		return &f.Township
	case fAddress:
		return &f.Address
	case fName:
		return &f.Name
	case fPhone:
		return &f.Phone
	}
	return nil
}

// text takes one text field: the first value of a repeated field counts.
func (f *Form) text(name, v string, truncated bool, p *problems) {
	valid := utf8.ValidString(v)
	if !valid {
		v = strings.ToValidUTF8(v, "\uFFFD")
	}
	switch {
	case name == fToken && (!valid || truncated):
		p.add(http.StatusBadRequest, fieldError(fToken, "token"))
		return
	case !valid:
		p.add(http.StatusBadRequest, message(name, "utf8", ""))
	}
	if truncated {
		p.add(http.StatusBadRequest, tooLong(name))
	}
	if name == fAnonymous {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "1", "on", "true", "yes":
			f.Anonymous = true
		case "", "0", "off", "false", "no":
		default:
			p.add(http.StatusBadRequest, fieldError(fAnonymous, "bool"))
		}
		return
	}
	if ptr := f.field(name); ptr != nil && *ptr == "" {
		*ptr = v
	}
}

// photo takes one uploaded file: an empty file input (no file chosen) is
// skipped; the rest count, and are kept when they are images of a
// permitted size and there are not too many.
func (f *Form) photo(name string, data []byte, tooBig bool, p *problems) {
	if len(data) == 0 && !tooBig {
		return
	}
	f.PhotosSent++
	switch {
	case f.PhotosSent > channels.MaxFiles:
		p.add(http.StatusUnprocessableEntity, fieldError(fPhotos, "max_files"))
	case tooBig:
		p.add(http.StatusRequestEntityTooLarge, fieldError(fPhotos, "max_size"))
	case !isImage(data):
		p.add(http.StatusUnprocessableEntity, fieldError(fPhotos, "type"))
	default:
		f.Photos = append(f.Photos, Photo{Name: strings.ToValidUTF8(name, ""), Data: data})
	}
}

func isImage(data []byte) bool {
	ct := http.DetectContentType(data)
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return imageTypes[ct]
}

// Submission is the form as the intake takes it, on the web channel with
// the form's token as its reference ("web:<token>"). The photos are not in
// it: they are stored once the rest is valid. err is a *httpx.Problem of
// the form's own rules (the token, a phone number to call back); the
// intake checks the rest.
func (f *Form) Submission() (channels.Submission, error) {
	var p problems
	s := channels.Submission{Kind: f.Kind, Category: f.Category, Content: f.Content, Address: f.Address,
		TownshipCode: f.Township, CountyCode: f.County, CitizenName: f.Name, Phone: f.Phone, Anonymous: f.Anonymous,
		Channel: cases.ChannelWeb}
	if ValidToken(f.Token) {
		s.Ref = "web:" + f.Token
	} else {
		p.add(http.StatusBadRequest, fieldError(fToken, "token"))
	}
	if channels.CleanLine(f.Phone) == "" {
		p.add(http.StatusBadRequest, channels.Message(fPhone, "required", ""))
	}
	return s, p.err()
}

// tokenBytes is the randomness of a form token.
const tokenBytes = 16

// NewToken returns a fresh form token: 128 random bits, URL-safe.
func NewToken() string {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		panic("web: crypto/rand: " + err.Error()) // never fails on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// ValidToken reports whether s has the form of a token from NewToken.
func ValidToken(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == tokenBytes
}
