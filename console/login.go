package console

import "net/http"

// loginRoutes: the sign-in page (filled by the console pages' work).
func (p *Pages) loginRoutes(mux *http.ServeMux) {}
