package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"yici/internal/auth"
	"yici/internal/ratelimit"
)

// The sign-in form works without JavaScript. It is protected against
// login CSRF (a foreign site signing the browser in to an account of its
// choosing) twice: the Origin (or Referer) must be this site's, as for
// every state-changing request (auth.HTTP.SameOrigin), and the form
// carries a token that must equal the one in a cookie only this site can
// set (double submit). A browser already signed in posts its session's
// CSRF token instead, which the session middleware checks.

// loginCookie holds the sign-in form's token (path /login, one hour).
const loginCookie = "yici_login"

// Sign-in attempts per client address: 20 at once, then 30 a minute (a
// hotline centre's agents may share one address at a shift change).
const (
	loginPerMinute = 30
	loginBurst     = 20
)

// loginPage is the data of login.html.
type loginPage struct {
	Token    string     // the form's CSRF token
	Username string     // echoed after a failed attempt
	Error    string     // why the sign-in failed
	Notice   string     // why the page is shown (a refused page)
	Current  *auth.User // who is signed in already, if anyone
	Role     string     // the signed-in user's role label
	Home     string     // their start page
	CSRF     string     // their session's CSRF token (sign out)
}

// loginRoutes registers the sign-in page:
//
//	GET  /login   anyone: the sign-in form (signed-in users also see who they are)
//	POST /login   anyone from this site's pages (same Origin and the form's token), 30 a minute per address: sign in, then 303 to /console (agent, dispatcher, supervisor), /work (officer) or /
//	POST /logout  signed-in staff (form field csrf = the session's token, same Origin: checked by the session middleware): sign out, then 303 to /login
func (p *Pages) loginRoutes(mux *http.ServeMux) {
	limit := ratelimit.New(loginPerMinute, loginBurst)
	mux.HandleFunc("GET /login", p.handleLoginForm)
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) { p.handleLogin(w, r, limit) })
	mux.HandleFunc("POST /logout", p.handleLogout)
}

// homeOf is the start page of a role after signing in.
func homeOf(role auth.Role) string {
	switch role {
	case auth.Agent, auth.Dispatcher, auth.Supervisor:
		return "/console"
	case auth.Officer:
		return "/work"
	}
	return "/"
}

// loginToken returns the form token of the browser (from its cookie) or a
// new one, setting the cookie.
func (p *Pages) loginToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCookie); err == nil && validLoginToken(c.Value) {
		return c.Value
	}
	b := make([]byte, 24)
	rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/login", MaxAge: 3600,
		HttpOnly: true, Secure: p.Auth.Secure, SameSite: http.SameSiteStrictMode})
	return tok
}

func validLoginToken(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// loginData is the page for r's browser: its form token, and who is
// signed in.
func (p *Pages) loginData(w http.ResponseWriter, r *http.Request) loginPage {
	d := loginPage{Token: p.loginToken(w, r)}
	if sess, ok := auth.SessionFrom(r); ok {
		a := sess.Actor
		d.Current = &auth.User{Username: a.Username, DisplayName: a.Name, Role: a.Role, UnitID: a.UnitID}
		d.Role, d.Home, d.CSRF = a.Role.Label(), homeOf(a.Role), sess.CSRF
		// A signed-in browser's POST is checked against its session's token.
		d.Token = sess.CSRF
	}
	return d
}

func (p *Pages) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, "login", p.loginData(w, r))
}

func (p *Pages) handleLogin(w http.ResponseWriter, r *http.Request, limit *ratelimit.Limiter) {
	if ok, wait := limit.Allow(ratelimit.ClientIP(r)); !ok {
		secs := int(wait/time.Second) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		d := p.loginData(w, r)
		d.Error = "登录尝试过于频繁，请 " + strconv.Itoa(secs) + " 秒后再试。"
		p.render(w, r, http.StatusTooManyRequests, "login", d)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		d := p.loginData(w, r)
		d.Error = "无法读取登录表单，请重新填写。"
		p.render(w, r, http.StatusBadRequest, "login", d)
		return
	}
	if !p.Auth.SameOrigin(r) {
		d := p.loginData(w, r)
		d.Error = "跨站登录请求被拒绝。请在本站的登录页面登录。"
		p.render(w, r, http.StatusForbidden, "login", d)
		return
	}
	old, signedIn := auth.SessionFrom(r) // its CSRF token was checked by the middleware
	if !signedIn {
		c, err := r.Cookie(loginCookie)
		if err != nil || !validLoginToken(c.Value) || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
			d := p.loginData(w, r)
			d.Error = "登录页面已过期，请重新输入用户名和密码。"
			p.render(w, r, http.StatusForbidden, "login", d)
			return
		}
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	if username == "" || password == "" {
		d := p.loginData(w, r)
		d.Username, d.Error = username, "请输入用户名和密码。"
		p.render(w, r, http.StatusBadRequest, "login", d)
		return
	}
	sess, err := p.Auth.Store.Login(r.Context(), username, password)
	if errors.Is(err, auth.ErrBadLogin) {
		// One answer for an unknown user, a wrong password and a disabled
		// account.
		d := p.loginData(w, r)
		d.Username, d.Error = username, "用户名或密码错误。"
		p.render(w, r, http.StatusUnauthorized, "login", d)
		return
	}
	if err != nil {
		p.Log.Error("console: login", "err", err)
		d := p.loginData(w, r)
		d.Username, d.Error = username, "暂时无法登录，请稍后再试。"
		p.render(w, r, http.StatusInternalServerError, "login", d)
		return
	}
	if signedIn {
		_ = p.Auth.Store.Logout(r.Context(), old.Token)
	}
	p.Auth.SetCookie(w, sess)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/login", MaxAge: -1,
		HttpOnly: true, Secure: p.Auth.Secure, SameSite: http.SameSiteStrictMode})
	noStore(w)
	http.Redirect(w, r, homeOf(sess.Actor.Role), http.StatusSeeOther)
}

func (p *Pages) handleLogout(w http.ResponseWriter, r *http.Request) {
	if sess, ok := auth.SessionFrom(r); ok {
		if err := p.Auth.Store.Logout(r.Context(), sess.Token); err != nil {
			p.Log.Error("console: logout", "err", err)
		}
	}
	p.Auth.ClearCookie(w)
	noStore(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func noStore(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }
