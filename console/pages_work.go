package console

import "net/http"

// workRoutes: the officers' workbench (filled by the workbench's work).
func (p *Pages) workRoutes(mux *http.ServeMux) {}
