package cti

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"yici/channels"
	"yici/internal/httpx"
)

// The commands a telephony system sends.
const (
	CmdNewCall    = "newCall"
	CmdAnswer     = "answer"
	CmdHangup     = "hangup"
	CmdTranscript = "transcript"
	CmdVoicemail  = "voicemail"
)

// Causes are the hangup causes accepted (those of the generic CTI
// interfaces of contact-centre systems).
var Causes = []string{"normalClearing", "busy", "cancel", "noAnswer", "congestion", "notFound", "forwarded"}

// Limits of the fields.
const (
	MaxCallID   = 150  // so that "<installation>:<callId>:voicemail" fits a channel reference (200)
	MaxNumber   = 40   // from, to
	MaxQueue    = 100  // queue
	MaxUser     = 50   // each user[], agent, answeringNumber
	MaxUsers    = 20   // how many user[]
	MaxText     = 4000 // a transcript or a voicemail transcription, as a case's content
	MaxDuration = 86400
)

// Event is one call event, decoded from a form or a JSON body.
type Event struct {
	Cmd       string   // newCall, answer, hangup, transcript, voicemail
	CallID    string   // the telephony system's id of the call (or of the voicemail)
	From      string   // the calling number, as sent (cleaned)
	To        string   // the called number
	Direction string   // in or out ("" reads as in)
	Queue     string   // the queue the call came through
	Users     []string // newCall: the agents the call rings at; answer: who picked up
	Agent     string   // answer/hangup: the agent who picked up (username)
	Answering string   // answer/hangup: answeringNumber (the agent's username or extension)
	Cause     string   // hangup: one of Causes
	Duration  *int     // hangup: seconds, optional
	Text      string   // transcript, voicemail
}

// Inbound reports whether the citizen called the hotline (and not an agent
// the citizen).
func (e Event) Inbound() bool { return e.Direction != "out" }

// Citizen is the citizen's number of the call: the caller of an inbound
// call, the called number of an outbound one.
func (e Event) Citizen() string {
	if e.Inbound() {
		return e.From
	}
	return e.To
}

// AgentCandidates are the ways the event names the agent who answered, in
// the order they are tried against the staff accounts: agent, user,
// answeringNumber.
func (e Event) AgentCandidates() []string {
	var out []string
	for _, s := range append(append([]string{e.Agent}, e.Users...), e.Answering) {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// labels are the Chinese names of the event's fields.
var labels = map[string]string{
	"cmd": "事件类型", "event": "事件类型", "callId": "通话编号", "from": "主叫号码", "to": "被叫号码",
	"direction": "呼叫方向", "queue": "队列", "user": "坐席", "agent": "接听坐席", "answeringNumber": "接听号码",
	"cause": "挂机原因", "duration": "通话时长", "text": "内容", "body": "请求内容", "Content-Type": "内容类型",
	"phone": "电话号码", "reason": "原因", "after": "起始编号",
}

// fieldError is channels.Message with this package's Chinese field names.
func fieldError(field, rule, param string) httpx.FieldError {
	fe := channels.Message(field, rule, param)
	if l, ok := labels[field]; ok && strings.HasPrefix(fe.MessageZH, field) {
		fe.MessageZH = l + strings.TrimPrefix(fe.MessageZH, field)
	}
	return fe
}

// The messages of this package's own rules.
func callIDError() httpx.FieldError {
	return httpx.FieldError{Field: "callId", Rule: "callid",
		MessageZH: "通话编号只能包含字母、数字和 - . _ ~ @ : + =",
		MessageEN: "callId may contain only letters, digits and - . _ ~ @ : + ="}
}

func tooManyUsers() httpx.FieldError {
	return httpx.FieldError{Field: "user", Rule: "max_items",
		MessageZH: "坐席最多 " + strconv.Itoa(MaxUsers) + " 个", MessageEN: "at most " + strconv.Itoa(MaxUsers) + " users"}
}

func durationError() httpx.FieldError {
	return httpx.FieldError{Field: "duration", Rule: "range",
		MessageZH: "通话时长应为 0 到 " + strconv.Itoa(MaxDuration) + " 之间的整数秒",
		MessageEN: "duration must be whole seconds from 0 to " + strconv.Itoa(MaxDuration)}
}

// ValidCallID reports whether s may be a callId: 1 to MaxCallID letters,
// digits and - . _ ~ @ : + = (UUIDs, Asterisk's uniqueid, SIP Call-IDs
// host part included), nothing that needs escaping in a URL path.
func ValidCallID(s string) bool {
	if s == "" || len(s) > MaxCallID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~@:+=", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// values are the fields of a body, by canonical name.
type values map[string][]string

// canonical maps the accepted field names to one name each; others are
// ignored (telephony systems send more than we read).
var canonical = map[string]string{
	"cmd": "cmd", "event": "event", "callId": "callId", "from": "from", "to": "to", "direction": "direction",
	"queue": "queue", "user": "user", "user[]": "user", "agent": "agent", "answeringNumber": "answeringNumber",
	"cause": "cause", "duration": "duration", "text": "text",
}

func (v values) first(k string) string {
	if len(v[k]) == 0 {
		return ""
	}
	return v[k][0]
}

// DecodeEvent reads a call event from a body of the given Content-Type:
// application/x-www-form-urlencoded or application/json (a body without a
// Content-Type is read as JSON when it starts with "{"). Every problem is a
// field error: an httpx.Errors (400) naming each bad field, or an
// *httpx.Problem (400 for an unreadable body, 415 for another type).
func DecodeEvent(contentType string, body []byte) (Event, error) {
	vals, err := parseBody(contentType, body)
	if err != nil {
		return Event{}, err
	}
	return vals.event()
}

func parseBody(contentType string, body []byte) (values, error) {
	mt := ""
	if contentType != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(contentType); err != nil {
			mt = "invalid"
		}
	} else if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		mt = "application/json"
	} else {
		mt = "application/x-www-form-urlencoded"
	}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return parseJSON(body)
	case mt == "application/x-www-form-urlencoded":
		return parseForm(body)
	}
	return nil, &httpx.Problem{Status: http.StatusUnsupportedMediaType, Errs: httpx.Errors{{Field: "Content-Type", Rule: "oneof",
		MessageZH: "内容类型必须是 application/x-www-form-urlencoded 或 application/json",
		MessageEN: "Content-Type must be application/x-www-form-urlencoded or application/json"}}}
}

func emptyBody() error {
	return httpx.NewProblem(http.StatusBadRequest, "body", "required", "请求内容为空", "request body is empty")
}

func parseForm(body []byte) (values, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, emptyBody()
	}
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, httpx.NewProblem(http.StatusBadRequest, "body", "form", "表单格式错误", "malformed form body")
	}
	out := values{}
	var bad httpx.Errors
	for k, vs := range q {
		name, ok := canonical[k]
		if !ok {
			continue
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				bad = append(bad, fieldError(name, "utf8", ""))
				break
			}
			out[name] = append(out[name], v)
		}
	}
	if len(bad) > 0 {
		sortErrors(bad)
		return nil, bad
	}
	return out, nil
}

func parseJSON(body []byte) (values, error) {
	if !utf8.Valid(body) {
		return nil, httpx.NewProblem(http.StatusBadRequest, "body", "utf8", "请求内容不是有效的 UTF-8 编码", "request body is not valid UTF-8")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, emptyBody()
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, httpx.NewProblem(http.StatusBadRequest, "body", "json", "JSON 格式错误（应为一个对象）", "malformed JSON (want one object)")
	}
	if dec.More() {
		return nil, httpx.NewProblem(http.StatusBadRequest, "body", "json", "JSON 之后有多余内容", "trailing data after the JSON value")
	}
	out := values{}
	var bad httpx.Errors
	for k, m := range raw {
		name, ok := canonical[k]
		if !ok {
			continue
		}
		vs, ok := scalars(m, name == "user")
		if !ok {
			bad = append(bad, typeError(name))
			continue
		}
		out[name] = append(out[name], vs...)
	}
	if len(bad) > 0 {
		sortErrors(bad)
		return nil, bad
	}
	return out, nil
}

func typeError(field string) httpx.FieldError {
	want, wantEN := "文本或数字", "a string or a number"
	if field == "user" {
		want, wantEN = "文本或文本数组", "a string or an array of strings"
	}
	zh := labels[field]
	if zh == "" {
		zh = field
	}
	return httpx.FieldError{Field: field, Rule: "type", MessageZH: zh + "的类型不正确（应为" + want + "）", MessageEN: field + " has the wrong type (want " + wantEN + ")"}
}

// scalars reads a JSON string, number or boolean (null is absent), or,
// when list is set, an array of them.
func scalars(m json.RawMessage, list bool) ([]string, bool) {
	m = bytes.TrimSpace(m)
	if len(m) == 0 {
		return nil, false
	}
	if m[0] == '[' {
		if !list {
			return nil, false
		}
		var items []json.RawMessage
		if json.Unmarshal(m, &items) != nil {
			return nil, false
		}
		var out []string
		for _, it := range items {
			vs, ok := scalars(it, false)
			if !ok {
				return nil, false
			}
			out = append(out, vs...)
		}
		return out, true
	}
	switch m[0] {
	case 'n':
		return nil, true
	case '"':
		var s string
		if json.Unmarshal(m, &s) != nil {
			return nil, false
		}
		return []string{s}, true
	case 't', 'f':
		return []string{string(m)}, true
	case '{':
		return nil, false
	}
	var n json.Number
	if json.Unmarshal(m, &n) != nil {
		return nil, false
	}
	return []string{n.String()}, true
}

// order is the order field errors are reported in.
var order = []string{"body", "Content-Type", "cmd", "event", "callId", "from", "to", "direction", "queue", "user", "agent", "answeringNumber", "cause", "duration", "text"}

func sortErrors(es httpx.Errors) {
	rank := func(f string) int {
		for i, o := range order {
			if o == f {
				return i
			}
		}
		return len(order)
	}
	// Insertion sort: a handful of errors, stable.
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && rank(es[j].Field) < rank(es[j-1].Field); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

// event validates the fields and builds the event.
func (v values) event() (Event, error) {
	var errs httpx.Errors
	maxRunes := func(field, s string, n int) {
		if utf8.RuneCountInString(s) > n {
			errs = append(errs, fieldError(field, "max", strconv.Itoa(n)))
		}
	}
	e := Event{}
	// The command: cmd= or event= (both allowed when they agree).
	cmdField := "cmd"
	cmd, ev := channels.CleanLine(v.first("cmd")), channels.CleanLine(v.first("event"))
	switch {
	case cmd == "" && ev != "":
		cmd, cmdField = ev, "event"
	case cmd != "" && ev != "" && cmd != ev:
		errs = append(errs, httpx.FieldError{Field: "event", Rule: "eqfield", MessageZH: "event 与 cmd 不一致", MessageEN: "event and cmd disagree"})
	}
	switch cmd {
	case CmdNewCall, CmdAnswer, CmdHangup, CmdTranscript, CmdVoicemail:
		e.Cmd = cmd
	case "":
		errs = append(errs, fieldError("cmd", "required", ""))
	default:
		errs = append(errs, fieldError(cmdField, "oneof", strings.Join([]string{CmdNewCall, CmdAnswer, CmdHangup, CmdTranscript, CmdVoicemail}, " ")))
	}

	e.CallID = strings.TrimSpace(v.first("callId"))
	switch {
	case e.CallID == "":
		errs = append(errs, fieldError("callId", "required", ""))
	case len(e.CallID) > MaxCallID:
		errs = append(errs, fieldError("callId", "max", strconv.Itoa(MaxCallID)))
	case !ValidCallID(e.CallID):
		errs = append(errs, callIDError())
	}

	e.From, e.To = channels.CleanLine(v.first("from")), channels.CleanLine(v.first("to"))
	maxRunes("from", e.From, MaxNumber)
	maxRunes("to", e.To, MaxNumber)
	e.Direction = channels.CleanLine(v.first("direction"))
	switch e.Direction {
	case "", "in", "out":
	default:
		errs = append(errs, fieldError("direction", "oneof", "in out"))
	}
	if e.Direction == "" {
		e.Direction = "in"
	}
	e.Queue = channels.CleanLine(v.first("queue"))
	maxRunes("queue", e.Queue, MaxQueue)

	for _, u := range v["user"] {
		if u = channels.CleanLine(u); u != "" {
			e.Users = append(e.Users, u)
		}
	}
	if len(e.Users) > MaxUsers {
		errs = append(errs, tooManyUsers())
	} else {
		for _, u := range e.Users {
			if utf8.RuneCountInString(u) > MaxUser {
				errs = append(errs, fieldError("user", "max", strconv.Itoa(MaxUser)))
				break
			}
		}
	}
	e.Agent, e.Answering = channels.CleanLine(v.first("agent")), channels.CleanLine(v.first("answeringNumber"))
	maxRunes("agent", e.Agent, MaxUser)
	maxRunes("answeringNumber", e.Answering, MaxUser)

	e.Cause = channels.CleanLine(v.first("cause"))
	if d := channels.CleanLine(v.first("duration")); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 || n > MaxDuration {
			errs = append(errs, durationError())
		} else {
			e.Duration = &n
		}
	}
	e.Text = channels.CleanText(v.first("text"))

	switch e.Cmd {
	case CmdAnswer:
		if e.Agent == "" && len(e.Users) == 0 && e.Answering == "" {
			errs = append(errs, fieldError("agent", "required", ""))
		}
	case CmdHangup:
		if e.Cause == "" {
			errs = append(errs, fieldError("cause", "required", ""))
		} else if !oneOf(e.Cause, Causes) {
			errs = append(errs, fieldError("cause", "oneof", strings.Join(Causes, " ")))
		}
	case CmdTranscript, CmdVoicemail:
		if e.Text == "" {
			errs = append(errs, fieldError("text", "required", ""))
		}
		maxRunes("text", e.Text, MaxText)
	}
	if len(errs) > 0 {
		sortErrors(errs)
		return Event{}, errs
	}
	return e, nil
}

func oneOf(s string, set []string) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}
