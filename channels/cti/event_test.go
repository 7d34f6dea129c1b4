package cti_test

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"yici/channels/cti"
	"yici/internal/httpx"
)

const formCT = "application/x-www-form-urlencoded"

func TestDecodeEventFormAndJSONAgree(t *testing.T) {
	pairs := []struct{ form, json string }{
		{"event=newCall&callId=abc-1&from=%2B86+138+1234+5678&to=12345&direction=in&queue=hotline&user%5B%5D=agent&user%5B%5D=dispatcher",
			`{"event":"newCall","callId":"abc-1","from":"+86 138 1234 5678","to":"12345","direction":"in","queue":"hotline","user":["agent","dispatcher"]}`},
		{"cmd=answer&callId=abc-1&answeringNumber=8001&user=agent",
			`{"cmd":"answer","callId":"abc-1","answeringNumber":8001,"user":"agent"}`},
		{"cmd=hangup&callId=1700000000.123&cause=noAnswer&duration=0",
			`{"cmd":"hangup","callId":1700000000.123,"cause":"noAnswer","duration":"0","extra":{"ignored":true}}`},
		{"cmd=voicemail&callId=vm%401.example&from=0571-88001234&text=%E8%B7%AF%E7%81%AF%E5%9D%8F%E4%BA%86",
			`{"cmd":"voicemail","callId":"vm@1.example","from":"0571-88001234","text":"路灯坏了","queue":null}`},
	}
	for _, p := range pairs {
		a, errA := cti.DecodeEvent(formCT, []byte(p.form))
		b, errB := cti.DecodeEvent("application/json; charset=utf-8", []byte(p.json))
		if errA != nil || errB != nil {
			t.Fatalf("%s: %v / %v", p.form, errA, errB)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("form %+v\njson %+v", a, b)
		}
	}
	// No Content-Type: a body starting with { is JSON, anything else a form.
	for _, body := range []string{` {"cmd":"newCall","callId":"n-1"}`, "cmd=newCall&callId=n-1"} {
		if e, err := cti.DecodeEvent("", []byte(body)); err != nil || e.Cmd != "newCall" || e.CallID != "n-1" || e.Direction != "in" {
			t.Errorf("%q: %+v %v", body, e, err)
		}
	}
	e, _ := cti.DecodeEvent(formCT, []byte("cmd=answer&callId=a&agent=supervisor&user=agent&answeringNumber=8001"))
	if got := strings.Join(e.AgentCandidates(), ","); got != "supervisor,agent,8001" {
		t.Errorf("candidates %s", got)
	}
}

func TestDecodeEventMessages(t *testing.T) {
	long := strings.Repeat("长", cti.MaxText+1)
	tests := []struct {
		name, ct, body string
		status         int // of a *httpx.Problem; 0 for httpx.Errors
		want           []httpx.FieldError
	}{
		{"no command", formCT, "callId=a", 0, []httpx.FieldError{
			{Field: "cmd", Rule: "required", MessageZH: "事件类型不能为空", MessageEN: "cmd is required"}}},
		{"unknown command by event=", formCT, "event=ring&callId=a", 0, []httpx.FieldError{
			{Field: "event", Rule: "oneof", MessageZH: "事件类型必须是以下之一：newCall、answer、hangup、transcript、voicemail", MessageEN: "event must be one of: newCall answer hangup transcript voicemail"}}},
		{"cmd and event disagree", formCT, "cmd=answer&event=hangup&callId=a&agent=x", 0, []httpx.FieldError{
			{Field: "event", Rule: "eqfield", MessageZH: "event 与 cmd 不一致", MessageEN: "event and cmd disagree"}}},
		{"no callId", formCT, "cmd=newCall", 0, []httpx.FieldError{
			{Field: "callId", Rule: "required", MessageZH: "通话编号不能为空", MessageEN: "callId is required"}}},
		{"callId with a slash", formCT, "cmd=newCall&callId=a%2Fb", 0, []httpx.FieldError{
			{Field: "callId", Rule: "callid", MessageZH: "通话编号只能包含字母、数字和 - . _ ~ @ : + =", MessageEN: "callId may contain only letters, digits and - . _ ~ @ : + ="}}},
		{"callId too long", formCT, "cmd=newCall&callId=" + strings.Repeat("9", cti.MaxCallID+1), 0, []httpx.FieldError{
			{Field: "callId", Rule: "max", MessageZH: "通话编号不能超过 150 个字", MessageEN: "callId must be at most 150 characters"}}},
		{"direction", formCT, "cmd=newCall&callId=a&direction=inbound", 0, []httpx.FieldError{
			{Field: "direction", Rule: "oneof", MessageZH: "呼叫方向必须是以下之一：in、out", MessageEN: "direction must be one of: in out"}}},
		{"answer by nobody", formCT, "cmd=answer&callId=a", 0, []httpx.FieldError{
			{Field: "agent", Rule: "required", MessageZH: "接听坐席不能为空", MessageEN: "agent is required"}}},
		{"hangup without cause", formCT, "cmd=hangup&callId=a", 0, []httpx.FieldError{
			{Field: "cause", Rule: "required", MessageZH: "挂机原因不能为空", MessageEN: "cause is required"}}},
		{"unknown cause, bad duration", `application/json`, `{"cmd":"hangup","callId":"a","cause":"dropped","duration":-1}`, 0, []httpx.FieldError{
			{Field: "cause", Rule: "oneof", MessageZH: "挂机原因必须是以下之一：normalClearing、busy、cancel、noAnswer、congestion、notFound、forwarded", MessageEN: "cause must be one of: normalClearing busy cancel noAnswer congestion notFound forwarded"},
			{Field: "duration", Rule: "range", MessageZH: "通话时长应为 0 到 86400 之间的整数秒", MessageEN: "duration must be whole seconds from 0 to 86400"}}},
		{"transcript too long", `application/json`, `{"cmd":"transcript","callId":"a","text":"` + long + `"}`, 0, []httpx.FieldError{
			{Field: "text", Rule: "max", MessageZH: "内容不能超过 4000 个字", MessageEN: "text must be at most 4000 characters"}}},
		{"every field at once, in order", formCT, "cmd=voicemail&from=" + strings.Repeat("1", 41) + "&queue=" + strings.Repeat("q", 101), 0, []httpx.FieldError{
			{Field: "callId", Rule: "required", MessageZH: "通话编号不能为空", MessageEN: "callId is required"},
			{Field: "from", Rule: "max", MessageZH: "主叫号码不能超过 40 个字", MessageEN: "from must be at most 40 characters"},
			{Field: "queue", Rule: "max", MessageZH: "队列不能超过 100 个字", MessageEN: "queue must be at most 100 characters"},
			{Field: "text", Rule: "required", MessageZH: "内容不能为空", MessageEN: "text is required"}}},
		{"too many users", formCT, "cmd=newCall&callId=a" + strings.Repeat("&user[]=u", cti.MaxUsers+1), 0, []httpx.FieldError{
			{Field: "user", Rule: "max_items", MessageZH: "坐席最多 20 个", MessageEN: "at most 20 users"}}},
		{"object for a string", `application/json`, `{"cmd":"newCall","callId":{"id":1}}`, 0, []httpx.FieldError{
			{Field: "callId", Rule: "type", MessageZH: "通话编号的类型不正确（应为文本或数字）", MessageEN: "callId has the wrong type (want a string or a number)"}}},
		{"invalid UTF-8 in a form", formCT, "cmd=transcript&callId=a&text=%FF", 0, []httpx.FieldError{
			{Field: "text", Rule: "utf8", MessageZH: "内容不是有效的 UTF-8 文本", MessageEN: "text is not valid UTF-8"}}},
		{"malformed JSON", `application/json`, `{"cmd":`, 400, []httpx.FieldError{
			{Field: "body", Rule: "json", MessageZH: "JSON 格式错误（应为一个对象）", MessageEN: "malformed JSON (want one object)"}}},
		{"malformed form", formCT, "cmd=%zz", 400, []httpx.FieldError{
			{Field: "body", Rule: "form", MessageZH: "表单格式错误", MessageEN: "malformed form body"}}},
		{"empty", formCT, "", 400, []httpx.FieldError{
			{Field: "body", Rule: "required", MessageZH: "请求内容为空", MessageEN: "request body is empty"}}},
		{"XML", "text/xml", "<call/>", 415, []httpx.FieldError{
			{Field: "Content-Type", Rule: "oneof", MessageZH: "内容类型必须是 application/x-www-form-urlencoded 或 application/json", MessageEN: "Content-Type must be application/x-www-form-urlencoded or application/json"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cti.DecodeEvent(tc.ct, []byte(tc.body))
			var got httpx.Errors
			var p *httpx.Problem
			switch {
			case errors.As(err, &p):
				if p.Status != tc.status {
					t.Errorf("status %d, want %d", p.Status, tc.status)
				}
				got = p.Errs
			case errors.As(err, &got):
				if tc.status != 0 {
					t.Errorf("field errors, want a %d problem", tc.status)
				}
			default:
				t.Fatalf("got %v", err)
			}
			if !reflect.DeepEqual([]httpx.FieldError(got), tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, s := range []struct{ ct, body string }{
		{formCT, "event=newCall&callId=a-1&from=13812345678&to=12345&direction=in&user%5B%5D=agent"},
		{formCT, "cmd=hangup&callId=a-1&cause=busy&duration=12"},
		{formCT, "cmd=transcript&callId=a&text=%E4%BD%A0%E5%A5%BD%0D%0A"},
		{"application/json", `{"cmd":"answer","callId":"a","user":["agent"],"answeringNumber":8001}`},
		{"application/json", `{"cmd":"voicemail","callId":1e400,"text":"\ud800"}`},
		{"", `{"user":[[["x"]]]}`},
		{"multipart/form-data; boundary=x", "--x--"},
		{"application/json; charset=\"", "{}"},
	} {
		f.Add(s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		e, err := cti.DecodeEvent(ct, body)
		if err == nil {
			switch e.Cmd {
			case cti.CmdNewCall, cti.CmdAnswer, cti.CmdHangup, cti.CmdTranscript, cti.CmdVoicemail:
			default:
				t.Fatalf("accepted command %q", e.Cmd)
			}
			if !cti.ValidCallID(e.CallID) || (e.Direction != "in" && e.Direction != "out") {
				t.Fatalf("accepted %+v", e)
			}
			if (e.Cmd == cti.CmdTranscript || e.Cmd == cti.CmdVoicemail) && e.Text == "" {
				t.Fatalf("accepted an empty text")
			}
			return
		}
		var es httpx.Errors
		var p *httpx.Problem
		switch {
		case errors.As(err, &p):
			if p.Status != http.StatusBadRequest && p.Status != http.StatusUnsupportedMediaType {
				t.Fatalf("status %d", p.Status)
			}
			es = p.Errs
		case errors.As(err, &es):
		default:
			t.Fatalf("not a field error: %T %v", err, err)
		}
		if len(es) == 0 {
			t.Fatal("no field errors")
		}
		for _, fe := range es {
			if fe.Field == "" || fe.Rule == "" || fe.MessageZH == "" || fe.MessageEN == "" {
				t.Fatalf("incomplete field error %+v", fe)
			}
		}
	})
}
