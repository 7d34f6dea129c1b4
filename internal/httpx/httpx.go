// Package httpx holds the few HTTP helpers every surface shares: JSON
// answers, the one error format, body limits and request decoding.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
)

// FieldError is one problem with the input, named by its field, in Chinese
// and English.
type FieldError struct {
	Field     string `json:"field"`
	Rule      string `json:"rule"`
	MessageZH string `json:"message_zh"`
	MessageEN string `json:"message_en"`
}

// Error implements error.
func (e FieldError) Error() string { return e.Field + ": " + e.MessageEN }

// Errors is a list of field errors, answered as {"errors":[...]}.
type Errors []FieldError

// Error implements error.
func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Problem is an error with an HTTP status and a field error body.
type Problem struct {
	Status int
	Errs   Errors
}

func (p *Problem) Error() string { return fmt.Sprintf("%d: %v", p.Status, p.Errs) }

// NewProblem returns a one-error problem.
func NewProblem(status int, field, rule, zh, en string) *Problem {
	return &Problem{Status: status, Errs: Errors{{Field: field, Rule: rule, MessageZH: zh, MessageEN: en}}}
}

// JSON writes v as JSON with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// Error writes a field error list with status.
func Error(w http.ResponseWriter, status int, errs ...FieldError) {
	JSON(w, status, map[string]any{"errors": errs})
}

// Fail writes err: a *Problem or Errors as given, anything else as a 500
// that says nothing of its cause (the cause is logged).
func Fail(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	var es Errors
	var fe FieldError
	switch {
	case errors.As(err, &p):
		Error(w, p.Status, p.Errs...)
	case errors.As(err, &es):
		Error(w, http.StatusBadRequest, es...)
	case errors.As(err, &fe):
		Error(w, http.StatusBadRequest, fe)
	case Unavailable(err):
		slog.WarnContext(r.Context(), "database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "2")
		Error(w, http.StatusServiceUnavailable, FieldError{Field: "", Rule: "unavailable",
			MessageZH: "服务暂时不可用，请稍后重试（已提交的内容不会丢失）", MessageEN: "service temporarily unavailable, please retry (nothing accepted is lost)"})
	default:
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		Error(w, http.StatusInternalServerError, FieldError{Field: "", Rule: "internal", MessageZH: "服务器内部错误，请稍后再试", MessageEN: "internal error, please try again later"})
	}
}

// Unavailable reports whether err means the database cannot be reached or
// is restarting (answer 503 with Retry-After, not 500): connection errors,
// PostgreSQL's classes 08 (connection), 57 (shutdown, cannot connect now)
// and 53 (out of resources), timeouts.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var ce *pgconn.ConnectError
	var pe *pgconn.PgError
	var ne net.Error
	switch {
	case errors.As(err, &ce):
		return true
	case errors.As(err, &pe):
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57") || strings.HasPrefix(pe.Code, "53")
	case errors.As(err, &ne), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case pgconn.Timeout(err):
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "closed pool") || strings.Contains(msg, "connection refused") ||
		strings.Contains(msg, "failed to connect") || strings.Contains(msg, "unexpected EOF")
}

// MaxBody is the default cap on request bodies (1 MiB).
const MaxBody = 1 << 20

// DecodeJSON reads a JSON object of at most limit bytes into v, refusing
// unknown fields, trailing data and invalid UTF-8.
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if limit <= 0 {
		limit = MaxBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return NewProblem(http.StatusRequestEntityTooLarge, "body", "max_bytes",
				fmt.Sprintf("请求内容过大（上限 %d 字节）", limit), fmt.Sprintf("request body too large (limit %d bytes)", limit))
		}
		return NewProblem(http.StatusBadRequest, "body", "read", "无法读取请求内容", "could not read the request body")
	}
	return Unmarshal(body, v)
}

// Unmarshal decodes a JSON object strictly, with field-naming errors.
func Unmarshal(body []byte, v any) error {
	if !utf8.Valid(body) {
		return NewProblem(http.StatusBadRequest, "body", "utf8", "请求内容不是有效的 UTF-8 编码", "request body is not valid UTF-8")
	}
	if depth(body) > 32 {
		return NewProblem(http.StatusBadRequest, "body", "depth", "JSON 嵌套层级过深", "JSON nested too deeply")
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			f := te.Field
			if f == "" {
				f = "body"
			}
			return NewProblem(http.StatusBadRequest, f, "type", "字段 "+f+" 的类型不正确（应为 "+te.Type.String()+"）", "field "+f+" has the wrong type (want "+te.Type.String()+")")
		case errors.As(err, &se):
			return NewProblem(http.StatusBadRequest, "body", "json", fmt.Sprintf("JSON 格式错误（第 %d 字节）", se.Offset), fmt.Sprintf("malformed JSON at byte %d", se.Offset))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			if f == "" {
				return NewProblem(http.StatusBadRequest, "body", "unknown", "存在名称为空的字段", "a field with an empty name")
			}
			return NewProblem(http.StatusBadRequest, f, "unknown", "未知字段 "+f, "unknown field "+f)
		case errors.Is(err, io.EOF):
			return NewProblem(http.StatusBadRequest, "body", "required", "请求内容为空", "request body is empty")
		default:
			return NewProblem(http.StatusBadRequest, "body", "json", "JSON 格式错误", "malformed JSON")
		}
	}
	if dec.More() {
		return NewProblem(http.StatusBadRequest, "body", "json", "JSON 之后有多余内容", "trailing data after the JSON value")
	}
	return nil
}

// depth returns the deepest nesting of JSON brackets (strings skipped).
func depth(b []byte) int {
	d, max := 0, 0
	inStr, esc := false, false
	for _, c := range b {
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			d++
			if d > max {
				max = d
			}
		case '}', ']':
			d--
		}
	}
	return max
}
