package integration

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"yici/cases"
	"yici/channels"
	"yici/internal/auth"
	"yici/internal/browsertest"
	"yici/internal/demo"
	"yici/internal/webui"
)

// The whole story in one real browser, with three people in three
// windows: the hotline agent takes a call, registers the case from the
// screen-pop and dispatches it by the routing decision; the officer of
// 文新街道综合执法平台 sees it arrive on the open workbench, signs for it and
// answers the citizen; the agent approves the answer from the 办结审核
// queue; the citizen finds the case on /track and rates it; the agent's
// console shows the rating arrive. Every step is checked on what the
// person sees, and the live steps without a reload of the page.
func TestStoryCallToRatingInBrowser(t *testing.T) {
	start := time.Now()
	s := startServer(t)
	ctx := context.Background()
	_, ctiToken, err := s.App.Keys.Create(ctx, channels.KeyCTI, "pbx", "")
	if err != nil {
		t.Fatal(err)
	}
	ready := time.Now()
	b := browsertest.New(t)

	const (
		caller  = "13857109999"
		callID  = "story-call-1"
		words   = "杭州市西湖区文新街道丰潭路有家烧烤店天天晚上油烟直排，楼上住户窗户都不敢开"
		reply   = "经执法队员现场核查，该烧烤店油烟未经净化直排属实，已责令其当日停止露天烧烤并加装油烟净化设备，我们将持续跟踪复查。"
		note    = "内部备注STORY-NOTE-7Q3：店主态度抵触，已约谈"
		officer = "赵磊"  // wenxin-zf
		agentNm = "王晓燕" // agent
		unit    = "文新街道综合执法平台"
	)

	// 1. The agent and the officer sign in through /login, each in their
	// own window, and land on their pages.
	agent := storySignIn(t, s, b, "agent", "/console",
		chromedp.WaitVisible(`#main[data-ready="true"]`, chromedp.ByQuery),
		storyPoll(`document.getElementById('conn').dataset.state === 'online'`))
	zf := storySignIn(t, s, b, "wenxin-zf", "/work",
		chromedp.WaitVisible(`#live[data-state="live"]`, chromedp.ByQuery),
		storyPoll(`!document.getElementById('queue-summary').textContent.includes('正在加载')`))
	var who string
	zf.Run(t, 5*time.Second, chromedp.Text(`#work-unit`, &who, chromedp.ByID))
	if who != unit {
		t.Fatalf("the officer's workbench is for %q, want %s", who, unit)
	}
	// Set on these documents: gone if a page reloads.
	agent.Run(t, 5*time.Second, chromedp.Evaluate(`window.storyNoReload = 'agent'`, nil))
	zf.Run(t, 5*time.Second, chromedp.Evaluate(`window.storyNoReload = 'officer'`, nil))
	noReload := func(tab *browsertest.Tab, want, step string) {
		t.Helper()
		var got string
		tab.Run(t, 5*time.Second, chromedp.Evaluate(`window.storyNoReload || ''`, &got))
		if got != want {
			t.Fatalf("%s: the page reloaded", step)
		}
	}

	// 2. The call rings and the agent answers: the screen-pop arrives live.
	storyCTI(t, s, ctiToken, url.Values{"cmd": {"newCall"}, "callId": {callID}, "from": {caller}, "to": {"12345"}, "direction": {"in"}})
	storyCTI(t, s, ctiToken, url.Values{"cmd": {"answer"}, "callId": {callID}, "agent": {"agent"}})
	var pop string
	agent.Run(t, 20*time.Second,
		chromedp.WaitVisible(`#pops li.pop`, chromedp.ByQuery),
		chromedp.Text(`#pops li.pop`, &pop, chromedp.ByQuery))
	if !strings.Contains(pop, caller) || !strings.Contains(pop, callID) {
		t.Fatalf("screen-pop %q lacks the caller %s or the call %s", pop, caller, callID)
	}
	noReload(agent, "agent", "screen-pop")

	// 3. A case from the screen-pop: the caller's number and the call are
	// filled in; the citizen's words make triage pre-select the category,
	// the kind and the township.
	var phone, callTag, category, township, kind, triage string
	agent.Run(t, 25*time.Second,
		chromedp.Click(`#pops li.pop .pop-open`, chromedp.ByQuery),
		chromedp.WaitVisible(`#case-form`, chromedp.ByID),
		chromedp.Value(`#f-phone`, &phone, chromedp.ByID),
		chromedp.Text(`#form-call`, &callTag, chromedp.ByID),
		chromedp.SendKeys(`#f-content`, words, chromedp.ByID))
	// Triage runs as the agent types (debounced), so a pause in the typing
	// may triage a part of the words first: wait for the suggestion of
	// the whole text, and report what the form shows if it never comes.
	storyWait(agent, `document.getElementById('f-category').value === '0104' && document.getElementById('f-township').value === '330106013' &&
		document.getElementById('f-kind').value === '投诉' && document.getElementById('triage-status').textContent.includes('餐饮油烟')`, 15*time.Second)
	agent.Run(t, 5*time.Second,
		chromedp.Value(`#f-category`, &category, chromedp.ByID),
		chromedp.Value(`#f-township`, &township, chromedp.ByID),
		chromedp.Value(`#f-kind`, &kind, chromedp.ByID),
		chromedp.Text(`#triage-status`, &triage, chromedp.ByID))
	if phone != caller || !strings.Contains(callTag, callID) {
		t.Fatalf("case from the call: phone %q, call %q", phone, callTag)
	}
	if category != "0104" || township != "330106013" || kind != string(cases.Complaint) {
		t.Fatalf("triage pre-selected category %q, township %q, kind %q; want 0104 餐饮油烟, 330106013 文新街道, 投诉", category, township, kind)
	}
	if !strings.Contains(triage, "系统建议") || !strings.Contains(triage, "餐饮油烟") || !strings.Contains(triage, "文新街道") {
		t.Fatalf("triage says %q", triage)
	}

	// Saved: registered, with its tracking number, and the pop says so.
	var caseNo, caseState, popStatus, caseID string
	agent.Run(t, 20*time.Second,
		chromedp.Click(`#btn-save`, chromedp.ByID),
		chromedp.WaitVisible(`#case-view`, chromedp.ByID),
		storyPoll(`document.getElementById('case-state').textContent === '已受理'`),
		chromedp.Text(`#case-no`, &caseNo, chromedp.ByID),
		chromedp.Text(`#case-state`, &caseState, chromedp.ByID),
		storyPoll(`document.querySelector('#pops li.pop .pop-status') !== null`),
		chromedp.Text(`#pops li.pop .pop-status`, &popStatus, chromedp.ByQuery),
		chromedp.Evaluate(`location.hash.replace(/^#case=/, '')`, &caseID))
	trackingNo := strings.ReplaceAll(caseNo, " ", "")
	if len(trackingNo) != 15 || caseState != "已受理" || len(caseID) != 36 {
		t.Fatalf("saved case %q (%s) in state %q", caseNo, caseID, caseState)
	}
	grouped := webui.GroupTrackingNo(trackingNo)
	if !strings.Contains(popStatus, "已建单 "+grouped) {
		t.Fatalf("the screen-pop does not show the case: %q", popStatus)
	}
	sup := s.Login("supervisor")
	var call struct {
		Case *struct {
			ID         string `json:"id"`
			TrackingNo string `json:"tracking_no"`
		} `json:"case"`
	}
	if code := sup.Do("GET", "/api/v1/cti/calls/"+callID, nil, &call); code != http.StatusOK || call.Case == nil || call.Case.TrackingNo != trackingNo || call.Case.ID != caseID {
		t.Fatalf("the call is not linked to the case: %d %+v", code, call.Case)
	}

	// 派单: the decision and its explanation, then dispatch by it.
	var summary, lead, rule string
	var steps int
	agent.Run(t, 20*time.Second,
		chromedp.Click(`#btn-dispatch`, chromedp.ByID),
		chromedp.WaitVisible(`#route`, chromedp.ByID),
		chromedp.Text(`#route-summary`, &summary, chromedp.ByID),
		chromedp.Text(`#route-lead`, &lead, chromedp.ByID),
		chromedp.Text(`#route-rule`, &rule, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll('#route-steps li').length`, &steps))
	if summary == "" || !strings.Contains(lead, unit) || !strings.Contains(lead, "330106013-ZF") || steps == 0 || rule == "" {
		t.Fatalf("decision: summary %q, lead %q, rule %q, %d steps", summary, lead, rule, steps)
	}
	var fields, status string
	agent.Run(t, 20*time.Second,
		chromedp.Click(`#btn-route-go`, chromedp.ByID),
		storyPoll(`document.getElementById('case-state').textContent === '待签收'`),
		storyPoll(`document.getElementById('dispatch').hidden`),
		chromedp.Text(`#work-status`, &status, chromedp.ByID),
		// The lead unit by name (the dispatch's own answer names it by
		// its code; the view reloads on the stream's dispatch event).
		storyPoll(`(document.querySelector('#case-fields dd[data-field="主办单位"]') || {}).textContent === '`+unit+`（330106013-ZF）'`),
		chromedp.Text(`#case-fields`, &fields, chromedp.ByID))
	if !strings.Contains(fields, unit) || !strings.Contains(status, "已派单") {
		t.Fatalf("after the dispatch: fields %q, status %q", fields, status)
	}

	// 4. The officer's open workbench shows the case arrive, live.
	card := `#queue .card-link[data-id="` + caseID + `"]`
	var cardText, announced string
	zf.Run(t, 20*time.Second,
		chromedp.WaitVisible(card, chromedp.ByQuery),
		chromedp.Text(card, &cardText, chromedp.ByQuery),
		chromedp.Text(`#announce`, &announced, chromedp.ByID))
	noReload(zf, "officer", "the new case on the workbench")
	if !strings.Contains(cardText, "待签收") || !strings.Contains(cardText, grouped) {
		t.Fatalf("card %q", cardText)
	}
	if !strings.Contains(announced, "新工单") || !strings.Contains(announced, grouped) {
		t.Fatalf("not announced: %q", announced)
	}

	// The officer opens it. A 投诉's citizen is not confidential: the
	// officer sees the phone, as cases.ForActor gives it to the unit.
	var content, officerPhone, signed string
	zf.Run(t, 25*time.Second,
		chromedp.Click(card, chromedp.ByQuery),
		chromedp.WaitVisible(`#do-sign`, chromedp.ByID),
		chromedp.Text(`#c-content`, &content, chromedp.ByID),
		chromedp.Text(`#c-phone`, &officerPhone, chromedp.ByID))
	stored, err := s.App.Cases.GetByTrackingNo(ctx, trackingNo)
	if err != nil || stored.ID.String() != caseID {
		t.Fatalf("case %s: %v", trackingNo, err)
	}
	asOfficer := cases.ForActor(stored, auth.Actor{Username: "wenxin-zf", Role: auth.Officer, UnitID: "330106013-ZF"})
	if stored.Kind != cases.Complaint || stored.Confidential || asOfficer.CitizenPhone != caller {
		t.Fatalf("stored case: kind %s, confidential %v, phone for the officer %q", stored.Kind, stored.Confidential, asOfficer.CitizenPhone)
	}
	if officerPhone != asOfficer.CitizenPhone || strings.Contains(officerPhone, "保密") {
		t.Fatalf("the officer sees the complaint's phone as %q, want %q (cases.ForActor)", officerPhone, asOfficer.CitizenPhone)
	}
	if !strings.Contains(content, "烧烤店") {
		t.Fatalf("the officer's case shows %q", content)
	}

	// Signs for it (签收), then resolves it (办结反馈) with a reply to the
	// citizen and an internal note.
	zf.Run(t, 25*time.Second,
		chromedp.Click(`#do-sign`, chromedp.ByID),
		storyPoll(`document.getElementById('c-state').textContent === '办理中'`),
		chromedp.Text(`#action-status`, &signed, chromedp.ByID),
		chromedp.WaitVisible(`[data-open="f-reply"]`, chromedp.ByQuery),
		chromedp.Click(`[data-open="f-reply"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#reply-text`, chromedp.ByID),
		chromedp.SendKeys(`#reply-text`, reply, chromedp.ByID),
		chromedp.SendKeys(`#reply-note`, note, chromedp.ByID),
		chromedp.Click(`#f-reply button[type="submit"]`, chromedp.ByQuery),
		storyPoll(`document.getElementById('c-state').textContent === '办结审核中'`))
	if !strings.Contains(signed, "已签收") {
		t.Fatalf("sign-for not confirmed: %q", signed)
	}
	noReload(zf, "officer", "sign and reply")
	// The note is stored (so its absence from /track below means something).
	replied, err := s.App.Cases.GetByTrackingNo(ctx, trackingNo)
	if err != nil {
		t.Fatal(err)
	}
	noted := false
	for _, a := range replied.Assignments {
		noted = noted || strings.Contains(a.Note, "STORY-NOTE-7Q3")
	}
	if !noted || replied.Reply != reply {
		t.Fatalf("stored after the reply: reply %q, note kept %v", replied.Reply, noted)
	}

	// 5. The agent's console follows (the case is still open there), and
	// the agent approves the reply from the 办结审核 queue.
	row := `#queue-list button.row[data-id="` + caseID + `"]`
	var shownReply, rowText string
	agent.Run(t, 25*time.Second,
		storyPoll(`document.getElementById('case-state').textContent === '办结审核中'`),
		chromedp.Text(`#case-fields dd[data-field="答复"]`, &shownReply, chromedp.ByQuery),
		chromedp.Click(`#tab-review`, chromedp.ByID),
		chromedp.WaitVisible(row, chromedp.ByQuery),
		chromedp.Text(row, &rowText, chromedp.ByQuery))
	if shownReply != reply {
		t.Fatalf("the agent sees the reply as %q", shownReply)
	}
	if !strings.Contains(rowText, grouped) || !strings.Contains(rowText, "办结审核中") {
		t.Fatalf("review queue row %q", rowText)
	}
	agent.Run(t, 25*time.Second,
		chromedp.Click(row, chromedp.ByQuery),
		chromedp.WaitVisible(`#act-approve_review`, chromedp.ByID),
		chromedp.Click(`#act-approve_review`, chromedp.ByID),
		chromedp.WaitVisible(`#act-submit`, chromedp.ByID),
		chromedp.Click(`#act-submit`, chromedp.ByID),
		storyPoll(`document.getElementById('case-state').textContent === '待回访'`),
		storyPoll(`document.querySelector('`+row+`') === null`),
		chromedp.Text(`#work-status`, &status, chromedp.ByID),
		// It now waits in the 待回访 queue.
		chromedp.Click(`#tab-callbacks`, chromedp.ByID),
		chromedp.WaitVisible(row, chromedp.ByQuery))
	if !strings.Contains(status, "办结审核通过") {
		t.Fatalf("approval not confirmed: %q", status)
	}
	noReload(agent, "agent", "review")

	// 6. The citizen, in a third window and not signed in, follows the
	// case on /track: the status and the officer's reply, and neither the
	// officer's name nor the internal note nor the full phone.
	cit := b.Tab("citizen")
	cit.FailOnScriptErrors(t, "citizen")
	var tStatus, tReply, tPhone, tUnits, page string
	cit.Run(t, 25*time.Second,
		chromedp.Navigate(s.URL+"/track"),
		chromedp.WaitVisible(`#tracking_no`, chromedp.ByID),
		chromedp.SendKeys(`#tracking_no`, grouped, chromedp.ByID),
		chromedp.SendKeys(`#phone_last4`, caller[len(caller)-4:], chromedp.ByID),
		chromedp.Click(`#track-form button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#t-status`, chromedp.ByID),
		chromedp.Text(`#t-status`, &tStatus, chromedp.ByID),
		chromedp.Text(`#t-reply`, &tReply, chromedp.ByID),
		chromedp.Text(`#t-phone`, &tPhone, chromedp.ByID),
		chromedp.Text(`#t-units`, &tUnits, chromedp.ByID),
		chromedp.OuterHTML(`html`, &page, chromedp.ByQuery))
	if tStatus != cases.PendingCallback.PublicLabel() || tReply != reply || tPhone != cases.MaskPhone(caller) || !strings.Contains(tUnits, unit) {
		t.Fatalf("tracking: status %q, reply %q, phone %q, units %q", tStatus, tReply, tPhone, tUnits)
	}
	for _, secret := range []string{officer, "STORY-NOTE-7Q3", "店主态度抵触", caller, agentNm} {
		if strings.Contains(page, secret) {
			t.Errorf("the tracking page shows %q", secret)
		}
	}

	// Rated 满意 and solved.
	var rated, satisfaction string
	cit.Run(t, 25*time.Second,
		chromedp.Click(`input[name="satisfaction"][value="satisfied"]`, chromedp.ByQuery),
		chromedp.Click(`input[name="solved"][value="yes"]`, chromedp.ByQuery),
		chromedp.Click(`#rate-form button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#t-rated`, chromedp.ByID),
		chromedp.Text(`#t-rated`, &rated, chromedp.ByID),
		chromedp.Text(`#t-satisfaction`, &satisfaction, chromedp.ByID),
		chromedp.Text(`#t-status`, &tStatus, chromedp.ByID),
		chromedp.WaitNotPresent(`#rate-form`, chromedp.ByID),
		chromedp.OuterHTML(`html`, &page, chromedp.ByQuery))
	if !strings.Contains(rated, "感谢您的评价") || satisfaction != "满意" || tStatus != cases.Archived.PublicLabel() {
		t.Fatalf("after rating: %q, %q, %q", rated, satisfaction, tStatus)
	}
	for _, secret := range []string{officer, "STORY-NOTE-7Q3", caller} {
		if strings.Contains(page, secret) {
			t.Errorf("the rated tracking page shows %q", secret)
		}
	}

	// 7. The agent's console shows the rating arrive, live: the open case
	// is archived with the citizen's answer, it leaves the 待回访 queue,
	// and the live feed has the step.
	var archived, callback, feed string
	agent.Run(t, 25*time.Second,
		storyPoll(`document.getElementById('case-state').textContent === '已办结归档'`),
		chromedp.Text(`#case-state`, &archived, chromedp.ByID),
		storyPoll(`!!document.querySelector('#case-fields dd[data-field="回访"]')`),
		chromedp.Text(`#case-fields dd[data-field="回访"]`, &callback, chromedp.ByQuery),
		storyPoll(`document.querySelector('`+row+`') === null`),
		chromedp.Text(`#feed`, &feed, chromedp.ByID))
	noReload(agent, "agent", "the rating")
	if archived != "已办结归档" || callback != "满意，已解决" {
		t.Fatalf("the agent's case view after the rating: state %q, 回访 %q", archived, callback)
	}
	ratedLine := ""
	for _, l := range strings.Split(feed, "\n") {
		if strings.Contains(l, grouped) && strings.Contains(l, "回访") && strings.Contains(l, "已办结归档") {
			ratedLine = l
		}
	}
	if ratedLine == "" {
		t.Fatalf("the live feed lacks the rating:\n%s", feed)
	}

	final, err := s.App.Cases.GetByTrackingNo(ctx, trackingNo)
	if err != nil {
		t.Fatal(err)
	}
	if final.State != cases.Archived || final.Satisfaction != cases.Satisfied || final.Solved == nil || !*final.Solved {
		t.Fatalf("stored: %s %s %v", final.State, final.Satisfaction, final.Solved)
	}
	t.Logf("server ready in %s (the first test of a process starts PostgreSQL), story in %s",
		ready.Sub(start).Round(100*time.Millisecond), time.Since(ready).Round(100*time.Millisecond))
}

// storySignIn opens a window, signs in through the /login form and waits
// for the user's page (home) to be ready.
func storySignIn(t *testing.T, s *server, b *browsertest.Browser, user, home string, ready ...chromedp.Action) *browsertest.Tab {
	t.Helper()
	tab := b.Tab(user)
	tab.FailOnScriptErrors(t, user)
	var path string
	actions := []chromedp.Action{
		chromedp.Navigate(s.URL + "/login"),
		chromedp.WaitVisible(`#username`, chromedp.ByID),
		chromedp.SendKeys(`#username`, user, chromedp.ByID),
		chromedp.SendKeys(`#password`, demo.Password, chromedp.ByID),
		chromedp.Click(`#login-submit`, chromedp.ByID),
	}
	actions = append(actions, ready...)
	actions = append(actions, chromedp.Evaluate(`location.pathname`, &path))
	tab.Run(t, 30*time.Second, actions...)
	if path != home {
		t.Fatalf("%s signed in and landed on %q, want %s", user, path, home)
	}
	return tab
}

func storyPoll(expr string) chromedp.Action {
	return chromedp.Poll(expr, nil, chromedp.WithPollingTimeout(15*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))
}

// storyWait waits for expr to hold in the tab and reports whether it did
// within the timeout (the caller then checks what the page shows).
func storyWait(tab *browsertest.Tab, expr string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(tab.Ctx, timeout+time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Poll(expr, nil, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond))) == nil
}

// storyCTI posts a telephony event as the PBX does.
func storyCTI(t *testing.T, s *server, token string, form url.Values) {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/api/v1/cti/"+token, form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("cti %s: %d %s", form.Get("cmd"), resp.StatusCode, body)
	}
}
