package httpx

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
)

// StatusWriter remembers the status a handler answered with, for the
// middlewares that log and measure requests. It passes on hijacking
// (websockets), flushing and http.ResponseController.
type StatusWriter struct {
	http.ResponseWriter
	Status int // 0 until the handler answers
}

// Recording returns w as a StatusWriter, wrapping it only when an outer
// middleware has not already done so.
func Recording(w http.ResponseWriter) *StatusWriter {
	if sw, ok := w.(*StatusWriter); ok {
		return sw
	}
	return &StatusWriter{ResponseWriter: w}
}

func (w *StatusWriter) WriteHeader(s int) {
	if w.Status == 0 {
		w.Status = s
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection over (websockets).
func (w *StatusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("the response writer cannot hijack")
	}
	if w.Status == 0 {
		w.Status = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

// Flush sends buffered data.
func (w *StatusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
