package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"yici/internal/httpx"
	"yici/internal/ratelimit"
)

// CookieName is the session cookie.
const CookieName = "yici_session"

// HTTP is the session layer of the web server.
type HTTP struct {
	Store *Store
	// Secure marks cookies Secure (behind TLS).
	Secure bool
	// Origins are extra allowed origins for state-changing requests and
	// websockets (the request's own host is always allowed).
	Origins []string
}

type sessionKey struct{}

// Middleware loads the session of the request's cookie, when there is one,
// and puts its Actor into the context. It rejects cross-site state-changing
// requests made with the cookie: the Origin (or Referer) must be the
// server's own or an allowed one, and the CSRF token must match.
func (h *HTTP) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(CookieName)
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r)
			return
		}
		sess, err := h.Store.Lookup(r.Context(), c.Value)
		if errors.Is(err, ErrNoSession) {
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		if !safeMethod(r.Method) {
			if !h.SameOrigin(r) {
				httpx.Error(w, http.StatusForbidden, httpx.FieldError{Field: "Origin", Rule: "origin", MessageZH: "跨站请求被拒绝", MessageEN: "cross-site request refused"})
				return
			}
			tok := r.Header.Get("X-CSRF-Token")
			if tok == "" && isForm(r) {
				tok = r.PostFormValue("csrf")
			}
			if tok != sess.CSRF {
				httpx.Error(w, http.StatusForbidden, httpx.FieldError{Field: "csrf", Rule: "csrf", MessageZH: "安全校验失败，请刷新页面后重试", MessageEN: "CSRF token missing or wrong; reload the page"})
				return
			}
		}
		ctx := WithActor(r.Context(), sess.Actor)
		ctx = context.WithValue(ctx, sessionKey{}, sess)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func isForm(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data")
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// SameOrigin reports whether the request comes from a page of this server
// (or an allowed origin). Requests without Origin and Referer (curl, apps)
// are let through: they carry no ambient browser credentials of ours unless
// they hold the cookie, and then they need the CSRF token as well.
func (h *HTTP) SameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		if ref := r.Header.Get("Referer"); ref != "" {
			if u, err := url.Parse(ref); err == nil {
				o = u.Scheme + "://" + u.Host
			}
		}
	}
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return slices.Contains(h.Origins, o)
}

// SessionFrom returns the session of a request that went through Middleware.
func SessionFrom(r *http.Request) (Session, bool) {
	s, ok := r.Context().Value(sessionKey{}).(Session)
	return s, ok
}

// Require lets through only signed-in actors of the given roles (any staff
// role when none is given): 401 without a session, 403 for other roles.
func Require(next http.Handler, roles ...Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := FromContext(r.Context())
		if !ok {
			httpx.Error(w, http.StatusUnauthorized, httpx.FieldError{Field: "session", Rule: "login", MessageZH: "请先登录", MessageEN: "please sign in"})
			return
		}
		if len(roles) > 0 && !slices.Contains(roles, a.Role) {
			httpx.Error(w, http.StatusForbidden, httpx.FieldError{Field: "role", Rule: "role", MessageZH: "您的角色无权执行此操作", MessageEN: "your role may not do this"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// SetCookie writes the session cookie.
func (h *HTTP) SetCookie(w http.ResponseWriter, s Session) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: s.Token, Path: "/", Expires: s.Expires,
		HttpOnly: true, Secure: h.Secure, SameSite: http.SameSiteLaxMode})
}

// ClearCookie removes the session cookie.
func (h *HTTP) ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.Secure, SameSite: http.SameSiteLaxMode})
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Routes registers the JSON session endpoints:
//
//	POST /api/v1/session   anyone: sign in (JSON username, password)
//	DELETE /api/v1/session signed-in staff: sign out
//	GET /api/v1/session    signed-in staff: who am I, and the CSRF token
func (h *HTTP) Routes(mux *http.ServeMux) {
	limit := ratelimit.New(30, 20) // sign-in attempts per client address
	mux.HandleFunc("POST /api/v1/session", func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := limit.Allow(ratelimit.ClientIP(r)); !ok {
			ratelimit.TooMany(w, wait)
			return
		}
		var req loginRequest
		if err := httpx.DecodeJSON(w, r, 4096, &req); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		sess, err := h.Store.Login(r.Context(), req.Username, req.Password)
		if errors.Is(err, ErrBadLogin) {
			httpx.Error(w, http.StatusUnauthorized, httpx.FieldError{Field: "password", Rule: "login", MessageZH: "用户名或密码错误", MessageEN: "wrong username or password"})
			return
		}
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		h.SetCookie(w, sess)
		httpx.JSON(w, http.StatusOK, sessionView(sess))
	})
	mux.Handle("GET /api/v1/session", Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := SessionFrom(r)
		httpx.JSON(w, http.StatusOK, sessionView(sess))
	})))
	mux.Handle("DELETE /api/v1/session", Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := SessionFrom(r)
		_ = h.Store.Logout(r.Context(), sess.Token)
		h.ClearCookie(w)
		w.WriteHeader(http.StatusNoContent)
	})))
}

func sessionView(s Session) map[string]any {
	return map[string]any{
		"username": s.Actor.Username, "name": s.Actor.Name, "role": s.Actor.Role,
		"unit_id": s.Actor.UnitID, "csrf": s.CSRF, "expires": s.Expires,
	}
}
