// Package channels is intake: every channel (the public web form, the
// phone line's CTI events, the app and grid workers' API, kiosks and
// Open311) normalises what it receives into one Submission, validated,
// stored durably with its first event before it is acknowledged, and
// idempotent on the channel's own reference. Unattended channels are
// routed at once when triage is confident, else queued for a dispatcher.
package channels

import (
	"context"
	"fmt"
	"log/slog"
	"unicode/utf8"

	"yici/cases"
	"yici/internal/auth"
	"yici/internal/httpx"
	"yici/router"
	"yici/router/triage"
)

// Submission is one request as every channel hands it over.
type Submission struct {
	Kind         string   `json:"kind" validate:"omitempty,oneof=咨询 求助 投诉 举报 建议 表扬 其他"`
	Category     string   `json:"category" validate:"omitempty,category"`
	Title        string   `json:"title" validate:"max=100"`
	Content      string   `json:"content" validate:"required,max=4000"`
	Address      string   `json:"address" validate:"max=200"`
	Lat          *float64 `json:"lat" validate:"required_with=Lon,omitempty,latitude"`
	Lon          *float64 `json:"lon" validate:"required_with=Lat,omitempty,longitude"`
	TownshipCode string   `json:"township_code" validate:"omitempty,township"`
	CountyCode   string   `json:"county_code" validate:"omitempty,county"`
	CitizenName  string   `json:"citizen_name" validate:"max=50"`
	Phone        string   `json:"phone" validate:"omitempty,cnphone"`
	Anonymous    bool     `json:"anonymous"`
	Urgency      string   `json:"urgency" validate:"omitempty,oneof=normal urgent emergency"`

	Channel cases.Channel `json:"-"`
	// Ref is the channel's idempotency reference, unique per channel (the
	// adapter scopes it by key or device): a retry returns the same case.
	Ref string `json:"-" validate:"required,max=200"`
	// Attachments already stored (content-addressed) with the submission.
	Attachments []Stored `json:"-"`
	// Extra is kept on the registration event (device, call, app data).
	Extra map[string]any `json:"-"`
	// Review sends the case to a dispatcher's queue whatever triage says
	// (post-call transcripts, voicemail).
	Review bool `json:"-"`
	// Reporter says who filed it ("app:<key>:<phone>", "grid:<user>").
	Reporter string `json:"-"`
}

// Normalize cleans the text fields and the phone number in place.
func (s *Submission) Normalize() {
	s.Content = CleanText(s.Content)
	s.Title = CleanLine(s.Title)
	s.Address = CleanLine(s.Address)
	s.CitizenName = CleanLine(s.CitizenName)
	s.Kind, s.Category, s.Urgency = CleanLine(s.Kind), CleanLine(s.Category), CleanLine(s.Urgency)
	s.TownshipCode, s.CountyCode = CleanLine(s.TownshipCode), CleanLine(s.CountyCode)
	if p, ok := NormalizePhone(s.Phone); ok {
		s.Phone = p
	} else {
		s.Phone = CleanLine(s.Phone)
	}
}

// Result is what intake did with a submission.
type Result struct {
	Case       *cases.Case
	Created    bool // false: a retry of an earlier submission
	Routed     bool // dispatched at once by the router
	Decision   *router.Decision
	Suggestion triage.Suggestion
}

// unattended channels are routed without an agent when triage is sure.
func unattended(ch cases.Channel) bool {
	switch ch {
	case cases.ChannelApp, cases.ChannelGrid, cases.ChannelKiosk, cases.ChannelOpen311, cases.ChannelWeb:
		return true
	}
	return false
}

// Intake turns submissions into cases.
type Intake struct {
	Cases    *cases.Store
	Router   *router.Service
	Validate *Validator
	Files    *Files
	Log      *slog.Logger
}

// Check normalises and validates a submission; the error is an
// httpx.Errors naming every bad field.
func (in *Intake) Check(s *Submission) error {
	for _, f := range []string{s.Content, s.Title, s.Address, s.CitizenName, s.Phone, s.Ref} {
		if !utf8.ValidString(f) {
			return httpx.Errors{Message("content", "utf8", "")}
		}
	}
	s.Normalize()
	return in.Validate.Struct(s)
}

// Submit registers a submission as a case, durably, with its first event
// and attachments, in one transaction; on an unattended channel it is
// routed and dispatched in the same transaction when triage is confident
// and the territory is known, else it waits in the dispatch queue.
func (in *Intake) Submit(ctx context.Context, actor auth.Actor, s Submission) (Result, error) {
	if err := in.Check(&s); err != nil {
		return Result{}, err
	}
	text := s.Content
	if s.Address != "" {
		text += "\n" + s.Address // the address names the township more often than the content
	}
	res := Result{Suggestion: in.Router.Triager().Suggest(text, string(s.Channel))}
	sg := res.Suggestion
	n := cases.NewCase{Kind: cases.Kind(s.Kind), Category: s.Category, Title: s.Title, Content: s.Content, Address: s.Address,
		Urgency: cases.Urgency(s.Urgency), TownshipCode: s.TownshipCode, CountyCode: s.CountyCode, CitizenName: s.CitizenName,
		CitizenPhone: s.Phone, Anonymous: s.Anonymous, Channel: s.Channel, ChannelRef: s.Ref, Reporter: s.Reporter, Data: map[string]any{}}
	if s.Lat != nil && s.Lon != nil {
		n.Point = &cases.Point{Lat: *s.Lat, Lon: *s.Lon}
	}
	confident := sg.Confidence >= triage.AutoApplyThreshold
	// What the person chose stands; triage fills the gaps.
	if n.Kind == "" {
		n.Kind = cases.Kind(sg.Kind)
		if !n.Kind.Valid() {
			n.Kind = cases.Other
		}
	}
	if n.Category == "" && (confident || !unattended(s.Channel)) {
		n.Category = sg.Category
	}
	if n.TownshipCode == "" && n.CountyCode == "" {
		n.TownshipCode, n.CountyCode, n.CityCode = sg.TownshipCode, sg.CountyCode, sg.CityCode
	}
	if n.Urgency == "" {
		n.Urgency = cases.Urgency(sg.Urgency)
		if !n.Urgency.Valid() {
			n.Urgency = cases.Normal
		}
	}
	n.Data["triage"] = map[string]any{"category": sg.Category, "confidence": sg.Confidence, "township": sg.TownshipCode,
		"county": sg.CountyCode, "kind": sg.Kind, "urgency": sg.Urgency}
	for k, v := range s.Extra {
		n.Data[k] = v
	}
	err := in.Cases.InTx(ctx, func(ctx context.Context) error {
		c, created, err := in.Cases.Create(ctx, actor, n)
		if err != nil {
			return err
		}
		res.Case, res.Created = c, created
		if !created {
			return nil // a retry: the first submission did the rest
		}
		if err := in.Files.attach(ctx, c, s.Attachments, actor); err != nil {
			return err
		}
		if !unattended(s.Channel) {
			return nil // an agent confirms and dispatches
		}
		if !s.Review && n.Category != "" && (n.TownshipCode != "" || n.CountyCode != "") {
			d, err := in.Router.Decide(ctx, c)
			if err != nil {
				return err
			}
			if !d.Queue {
				if err := in.Router.Record(ctx, c, d, true, actor.Name); err != nil {
					return err
				}
				out, err := in.Cases.DispatchCreated(ctx, auth.SystemActor("自动派单"), c, router.Plan(d), d.Summary)
				if err == nil {
					res.Case, res.Routed, res.Decision = out, true, &d
					return nil
				}
				in.Log.Warn("intake: automatic dispatch refused, queued", "case", c.TrackingNo, "err", err)
			}
		}
		out, err := in.Cases.SubmitCreated(ctx, auth.SystemActor("待人工派单"), c, queueReason(s, n, sg))
		if err == nil {
			res.Case = out
		}
		return err
	})
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

func queueReason(s Submission, n cases.NewCase, sg triage.Suggestion) string {
	switch {
	case s.Review:
		return "需人工核实后派单"
	case n.Category == "":
		return fmt.Sprintf("智能分类置信度不足（%.2f），待人工确认类别", sg.Confidence)
	case n.TownshipCode == "" && n.CountyCode == "":
		return "属地不明，待人工确认"
	}
	return "待人工派单"
}
