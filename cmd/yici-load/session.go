package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Session is a signed-in member of staff (the cookie of POST /api/v1/session).
type Session struct {
	Username string
	Role     string
	UnitID   string
	Cookie   string // "yici_session=…"
}

// Sessions signs in each account once and shares the session among the
// account's consoles and queue readers (as tabs of one browser would).
type Sessions struct {
	base     string
	password string
	hc       *http.Client

	mu sync.Mutex
	m  map[string]*Session
}

func newSessions(base, password string, hc *http.Client) *Sessions {
	return &Sessions{base: base, password: password, hc: hc, m: map[string]*Session{}}
}

// Get returns the session of username, signing in the first time.
func (s *Sessions) Get(ctx context.Context, username string) (*Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess := s.m[username]; sess != nil {
		return sess, nil
	}
	body, _ := json.Marshal(map[string]string{"username": username, "password": s.password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/api/v1/session", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sign in %s: %w", username, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sign in %s: %s: %s", username, resp.Status, bytes.TrimSpace(b))
	}
	var view struct {
		Role   string `json:"role"`
		UnitID string `json:"unit_id"`
	}
	_ = json.Unmarshal(b, &view)
	sess := &Session{Username: username, Role: view.Role, UnitID: view.UnitID}
	for _, c := range resp.Cookies() {
		if c.Name == "yici_session" {
			sess.Cookie = c.Name + "=" + c.Value
		}
	}
	if sess.Cookie == "" {
		return nil, fmt.Errorf("sign in %s: no session cookie in the answer", username)
	}
	s.m[username] = sess
	return sess, nil
}
