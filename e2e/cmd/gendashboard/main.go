// Command gendashboard writes the Red Ghost Grafana dashboard, built with
// the Grafana Foundation SDK in e2e/grafana, to the file provisioned by
// docker-compose. Run it from e2e/ after changing the dashboard:
//
//	go run ./cmd/gendashboard ../deploy/grafana/dashboards/redghost.json
package main

import (
	"fmt"
	"os"

	"github.com/redghost/redghost/e2e/grafana"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendashboard FILE")
		os.Exit(2)
	}
	b, err := grafana.JSON()
	if err == nil {
		err = os.WriteFile(os.Args[1], b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendashboard:", err)
		os.Exit(1)
	}
}
