package web_test

import (
	"crypto/subtle"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/web"
)

// The UI mounted under /admin/queues/ of a service's own mux, behind the
// service's authentication (here HTTP basic auth, for the example).
func Example() {
	backend, err := memqueue.New() // or redisqueue.New(client)
	if err != nil {
		log.Fatal(err)
	}
	ui, err := web.New(backend,
		web.WithActions(true), // requeue, purge and clear; off by default
		web.WithJaegerURL("http://localhost:16686"),
	)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/queues/", requireAdmin(http.StripPrefix("/admin/queues", ui)))

	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, user := range []string{"admin", "guest"} {
		req, _ := http.NewRequest("GET", srv.URL+"/admin/queues/", nil)
		req.SetBasicAuth(user, "secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(user, resp.Status)
	}
	// Output:
	// admin 200 OK
	// guest 401 Unauthorized
}

// requireAdmin stands for the service's own authentication middleware.
func requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user+":"+pass), []byte("admin:secret")) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="queues"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
