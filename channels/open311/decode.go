package open311

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"yici/cases"
	"yici/channels"
	"yici/internal/httpx"
)

// Limits of the POST requests form beyond the spec's own (description at
// most 4,000 characters).
const (
	maxDescription = 4000
	maxDeviceID    = 64 // with the key id and a token or hash, the reference stays under intake's 200
	maxAccountID   = 64
	maxToken       = 64
	maxMediaURLs   = channels.MaxFiles
	maxMediaURLLen = 1000
	maxAttrValue   = 100
	// retryAcrossMidnight is how long after midnight a retry of the
	// previous day's request still finds it.
	retryAcrossMidnight = time.Hour
)

// ContentUnspecified ends the content of a request sent without a
// description: the service name alone says what it is about.
const ContentUnspecified = "（市民未填写问题描述）"

// decoded is a POST requests form turned into a submission.
type decoded struct {
	sub channels.Submission
	// prevRef is the reference the same request had on the previous day,
	// set in the first hour after midnight (China time) when the reference
	// comes from the content: a retry that crosses midnight finds its case.
	prevRef string
}

// Decode turns the form of a POST requests.{fmt} into a validated
// submission for the verified key, with the Idempotency-Key header (""
// when absent). Its errors are a *Problem in the spec's format naming the
// field: 404 for a service_code that does not exist, 400 for everything
// else; anything else is a failure of the server.
func (h *Handler) Decode(form url.Values, key channels.Key, idempotencyKey string) (channels.Submission, error) {
	d, err := h.decode(form, key, idempotencyKey)
	return d.sub, err
}

// describe writes a field error for people: Chinese first, then English;
// the English starts with the name of the Open311 field.
func describe(fe httpx.FieldError) string {
	return fe.MessageZH + " (" + fe.MessageEN + ")"
}

func fieldError(field, zh, en string) httpx.FieldError {
	return httpx.FieldError{Field: field, MessageZH: zh, MessageEN: en}
}

// shortName keeps a name or value the client sent printable and short in a
// message.
func shortName(s string) string {
	if !utf8.ValidString(s) {
		return "(不是有效的 UTF-8)"
	}
	r := []rune(s)
	if len(r) > 64 {
		r = append(r[:64], '…')
	}
	return strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return -1
		}
		return c
	}, string(r))
}

// single returns the first non-empty value of a parameter; an empty one is
// a missing one.
func single(v url.Values, name string) string {
	for _, s := range v[name] {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func (h *Handler) decode(form url.Values, key channels.Key, idem string) (decoded, error) {
	var errs []httpx.FieldError
	bad := func(fe httpx.FieldError) { errs = append(errs, fe) }
	fail := func() (decoded, error) {
		p := &Problem{Status: http.StatusBadRequest}
		for _, fe := range errs {
			p.Errors = append(p.Errors, Error{Code: http.StatusBadRequest, Description: describe(fe)})
		}
		// Form values come from a map: answer in a stable order.
		sort.SliceStable(p.Errors, func(i, j int) bool { return p.Errors[i].Description < p.Errors[j].Description })
		return decoded{}, p
	}

	// Every name and value must be UTF-8 (the spec: all text received is
	// UTF-8); intake would otherwise blame the content for any of them.
	for k, vs := range form {
		if !utf8.ValidString(k) {
			bad(fieldError("parameter", "参数名不是有效的 UTF-8 文本", "a parameter name is not valid UTF-8"))
			continue
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				bad(channels.Message(shortName(k), "utf8", ""))
				break
			}
		}
	}
	if idem != "" && !utf8.ValidString(idem) {
		bad(channels.Message("Idempotency-Key", "utf8", ""))
	}
	if len(errs) > 0 {
		return fail()
	}

	code := single(form, "service_code")
	cat := h.tax.Category(code)
	if code == "" {
		bad(channels.Message("service_code", "required", ""))
	} else if cat == nil {
		// The spec's POST errors: "404 - service_code or jurisdiction_id
		// was not found (specified in error response)".
		return decoded{}, problem(http.StatusNotFound, describe(fieldError("service_code",
			"服务类别 "+shortName(code)+" 不存在，请先查询 services", "service_code "+shortName(code)+" was not found; see services")))
	}

	// Location: "One of lat & long or address_string or address_id".
	latS, lonS := single(form, "lat"), single(form, "long")
	addr := channels.CleanLine(single(form, "address_string"))
	addrID := single(form, "address_id")
	var lat, lon *float64
	switch {
	case latS == "" && lonS == "" && addr == "" && addrID == "":
		bad(fieldError("lat", "请提供位置：lat 和 long，或 address_string，或 address_id",
			"lat and long, address_string or address_id is required (a location)"))
	case latS != "" && lonS == "":
		bad(fieldError("long", "经度不能为空：lat 与 long 须同时提供", "long is required with lat"))
	case latS == "" && lonS != "":
		bad(fieldError("lat", "纬度不能为空：lat 与 long 须同时提供", "lat is required with long"))
	case latS != "":
		lat, lon = parseCoord(latS), parseCoord(lonS)
		if lat == nil {
			bad(fieldError("lat", "纬度应为数字（WGS-84）", "lat must be a number (WGS-84)"))
		}
		if lon == nil {
			bad(fieldError("long", "经度应为数字（WGS-84）", "long must be a number (WGS-84)"))
		}
	}
	var township, county string
	if addrID != "" {
		switch {
		case len(addrID) == 9 && strings.Trim(addrID, "0123456789") == "":
			township = addrID
		case len(addrID) == 6 && strings.Trim(addrID, "0123456789") == "":
			county = addrID
		default:
			bad(fieldError("address_id", "地址编号应为乡镇（街道）9 位或县（市、区）6 位行政区划代码",
				"address_id must be a township (9 digits) or county (6 digits) division code"))
		}
	}

	desc := channels.CleanText(single(form, "description"))
	if utf8.RuneCountInString(desc) > maxDescription {
		bad(channels.Message("description", "max", strconv.Itoa(maxDescription)))
	}

	first, last := channels.CleanLine(single(form, "first_name")), channels.CleanLine(single(form, "last_name"))
	name := citizenName(first, last)
	if utf8.RuneCountInString(name) > 50 {
		bad(fieldError("first_name", "姓名（first_name 与 last_name 合计）不能超过 50 个字",
			"first_name and last_name together must be at most 50 characters"))
	}

	if email := single(form, "email"); email != "" {
		a, err := mail.ParseAddress(email)
		if len(email) > 254 || err != nil || a.Address != email {
			bad(channels.Message("email", "email", ""))
		}
	}

	device := single(form, "device_id")
	if device != "" && (len(device) > maxDeviceID || !visibleASCII(device)) {
		bad(fieldError("device_id", "设备编号最多 64 个可见 ASCII 字符", "device_id must be at most 64 visible ASCII characters"))
	}
	account := channels.CleanLine(single(form, "account_id"))
	if utf8.RuneCountInString(account) > maxAccountID {
		bad(fieldError("account_id", "账户编号不能超过 64 个字", "account_id must be at most 64 characters"))
	}

	var media []string
	for _, name := range []string{"media_url", "media_url[]"} {
		for _, v := range form[name] {
			if v = strings.TrimSpace(v); v != "" {
				media = append(media, v)
			}
		}
	}
	if len(media) > maxMediaURLs {
		bad(fieldError("media_url", "图片链接最多 "+strconv.Itoa(maxMediaURLs)+" 个", "media_url may be given at most "+strconv.Itoa(maxMediaURLs)+" times"))
	}
	for _, m := range media {
		if !mediaURL(m) {
			bad(channels.Message("media_url", "url", ""))
			break
		}
	}

	attrs := attributesOf(form)
	token, tokenField := strings.TrimSpace(idem), "Idempotency-Key"
	if token == "" && len(attrs["client_token"]) > 0 {
		token, tokenField = attrs["client_token"][0], "attribute[client_token]"
	}
	if token != "" && (len(token) > maxToken || !visibleASCII(token)) {
		bad(fieldError(tokenField, "请求令牌最多 64 个可见 ASCII 字符", tokenField+" must be at most 64 visible ASCII characters"))
	}

	// The service's own attributes: required ones present, list values
	// known, strings acceptable; their values join the content in words.
	urgency := ""
	var lines []string
	kept := map[string]string{}
	if cat != nil {
		for _, a := range definitions[cat.Code] {
			vals := attrs[a.code]
			field := "attribute[" + a.code + "]"
			if len(vals) == 0 {
				if a.required {
					bad(fieldError(field, a.label+"（"+field+"）不能为空", field+" is required"))
				}
				continue
			}
			v := vals[0]
			shown := ""
			switch {
			case len(a.values) > 0:
				for _, lv := range a.values {
					if strings.EqualFold(v, lv.key) {
						v, shown = lv.key, lv.name
					}
				}
				if shown == "" {
					bad(fieldError(field, a.label+"（"+field+"）"+a.hintZH, field+" "+a.hintEN))
					continue
				}
				if u, ok := a.urgency[v]; ok {
					urgency = string(u)
				}
			default:
				norm, ok := "", false
				if utf8.RuneCountInString(v) <= maxAttrValue {
					norm, ok = a.check(v)
				}
				if !ok {
					bad(fieldError(field, a.label+"（"+field+"）"+a.hintZH, field+" "+a.hintEN))
					continue
				}
				v, shown = norm, norm
			}
			kept[a.code] = v
			lines = append(lines, a.label+"："+shown)
		}
	}
	if len(errs) > 0 {
		return fail()
	}

	content := desc
	if content == "" {
		content = cat.Name + ContentUnspecified
	}
	if len(lines) > 0 {
		content += "\n\n【补充信息】\n" + strings.Join(lines, "\n")
	}

	// The idempotency reference: a retry of the same request from the same
	// device finds the case of the first (see docs/open311.md).
	scope := key.ID.String()
	if device != "" {
		scope += ":" + device
	}
	var ref, prevRef string
	if token != "" {
		ref = scope + ":" + token
	} else {
		now := h.now().In(cst)
		hash := func(day time.Time) string {
			sum := sha256.Sum256([]byte(strings.Join([]string{day.Format("2006-01-02"), code, desc, latS, lonS, addr, addrID}, "\x1f")))
			return scope + ":" + hex.EncodeToString(sum[:])
		}
		ref = hash(now)
		midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, cst)
		if now.Sub(midnight) < retryAcrossMidnight {
			prevRef = hash(midnight.Add(-time.Hour))
		}
	}

	o311 := map[string]any{"key": key.Name, "key_id": key.ID.String()}
	if device != "" {
		o311["device_id"] = device
	}
	if account != "" {
		o311["account_id"] = account
	}
	if len(kept) > 0 {
		o311["attributes"] = kept
	}
	extra := map[string]any{"open311": o311}
	if len(media) > 0 {
		// Kept as given, never fetched: the server does not reach out to
		// URLs a client names.
		extra["media_urls"] = media
	}
	reporter := "open311:" + key.ID.String()
	if account != "" {
		reporter += ":" + account
	} else if device != "" {
		reporter += ":" + device
	}
	s := channels.Submission{
		Category: cat.Code, Content: content, Address: addr, Lat: lat, Lon: lon, TownshipCode: township, CountyCode: county,
		CitizenName: name, Phone: single(form, "phone"), Urgency: urgency,
		Channel: cases.ChannelOpen311, Ref: ref, Extra: extra, Reporter: reporter,
	}
	if err := h.in.Check(&s); err != nil {
		return decoded{}, intakeProblem(err)
	}
	return decoded{sub: s, prevRef: prevRef}, nil
}

func parseCoord(s string) *float64 {
	if len(s) > 40 {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f || f > 1e9 || f < -1e9 { // NaN, Inf, absurd
		return nil
	}
	return &f
}

func mediaURL(s string) bool {
	if len(s) > maxMediaURLLen || !visibleASCII(s) {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// citizenName joins the names: family name first, without a space, when
// either is written in Chinese characters (张 + 三 → 张三); "first last"
// otherwise.
func citizenName(first, last string) string {
	if first == "" || last == "" {
		return first + last
	}
	for _, r := range first + last {
		if unicode.Is(unicode.Han, r) {
			return last + first
		}
	}
	return first + " " + last
}

// attributesOf collects attribute[code]=value and, for lists,
// attribute[code][]=value, dropping empty values.
func attributesOf(form url.Values) map[string][]string {
	out := map[string][]string{}
	for k, vs := range form {
		if !strings.HasPrefix(k, "attribute[") {
			continue
		}
		code := strings.TrimSuffix(strings.TrimSuffix(k[len("attribute["):], "[]"), "]")
		if code == "" || strings.ContainsAny(code, "[]") {
			continue
		}
		for _, v := range vs {
			if v = channels.CleanLine(v); v != "" {
				out[code] = append(out[code], v)
			}
		}
	}
	return out
}

// intakeFields are the Open311 names of intake's fields.
var intakeFields = map[string]string{
	"content": "description", "title": "description", "address": "address_string", "lat": "lat", "lon": "long",
	"phone": "phone", "citizen_name": "first_name", "category": "service_code", "township_code": "address_id",
	"county_code": "address_id", "ref": "device_id", "urgency": "attribute", "kind": "service_code",
}

// intakeProblem turns intake's validation errors (httpx.Errors or a
// *httpx.Problem) into a 400 in the spec's format naming the Open311
// field. Anything else is returned as it is: a failure of the server.
func intakeProblem(err error) error {
	var es httpx.Errors
	var hp *httpx.Problem
	var te *cases.TransitionError
	switch {
	case errors.As(err, &es):
	case errors.As(err, &hp):
		es = hp.Errs
	case errors.As(err, &te) && errors.Is(te.Err, cases.ErrInvalid):
		return problem(http.StatusBadRequest, te.MessageZH()+" ("+te.Error()+")")
	default:
		return err
	}
	p := &Problem{Status: http.StatusBadRequest}
	for _, fe := range es {
		p.Errors = append(p.Errors, Error{Code: http.StatusBadRequest, Description: describe(renamed(fe))})
	}
	if len(p.Errors) == 0 {
		p.Errors = []Error{{Code: http.StatusBadRequest, Description: "请求无效 (invalid request)"}}
	}
	return p
}

// renamed rewrites an intake field error in the words of the Open311
// field the client sent.
func renamed(fe httpx.FieldError) httpx.FieldError {
	name, ok := intakeFields[fe.Field]
	if !ok {
		name = fe.Field
	}
	switch {
	case fe.Field == "content" && fe.Rule == "max":
		return channels.Message("description", "max", strconv.Itoa(maxDescription))
	case fe.Field == "address" && fe.Rule == "max":
		return channels.Message("address_string", "max", "200")
	case fe.Field == "citizen_name" && fe.Rule == "max":
		return fieldError("first_name", "姓名（first_name 与 last_name 合计）不能超过 50 个字",
			"first_name and last_name together must be at most 50 characters")
	case fe.Field == "township_code" || fe.Field == "county_code":
		return fieldError("address_id", "地址编号（行政区划代码）不存在", "address_id is not a known division code")
	case fe.Rule == "utf8":
		return channels.Message(name, "utf8", "")
	case fe.Rule == "latitude", fe.Rule == "longitude", fe.Rule == "cnphone", fe.Rule == "required":
		return channels.Message(name, fe.Rule, "")
	}
	return fieldError(name, fe.MessageZH, name+": "+fe.MessageEN)
}
