package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
)

// CSRF protection: the double-submit pattern with a keyed token. Each
// browser gets a random cookie (HttpOnly, SameSite=Strict) on its first
// page; the pages' forms carry HMAC(key, cookie) in a hidden field, where
// key is random per process. A state-changing request must carry the
// cookie and the token that matches it, in the form field or the
// X-CSRF-Token header: another site can neither read the cookie nor
// compute the token, and a token is worthless with another browser's
// cookie or against another process.
const (
	csrfCookie = "redghost_csrf"
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
)

type csrf struct{ key []byte }

func newCSRF() csrf {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	return csrf{key: key}
}

func (c csrf) token(cookie string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("redghost web csrf\x00"))
	m.Write([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// issue answers the token for r's browser, setting the cookie on w first
// when r has none.
func (c csrf) issue(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(csrfCookie); err == nil && validCookie(ck.Value) {
		return c.token(ck.Value)
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{
		Name:     csrfCookie,
		Value:    v,
		Path:     mountDir(r),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	return c.token(v)
}

// check tells whether r carries a cookie and the token that matches it.
func (c csrf) check(r *http.Request) bool {
	ck, err := r.Cookie(csrfCookie)
	if err != nil || !validCookie(ck.Value) {
		return false
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	if got == "" {
		return false
	}
	return hmac.Equal([]byte(got), []byte(c.token(ck.Value)))
}

func validCookie(v string) bool {
	if len(v) < 16 || len(v) > 64 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil
}

// mountDir is the directory of the page as the browser asked for it (the
// request line, before any http.StripPrefix): every page of the handler
// lives there, so the cookie is sent to them all and to nothing else.
func mountDir(r *http.Request) string {
	p := requestPath(r)
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i+1]
	}
	return "/"
}
