package api

import (
	"io"
	"net/http"
	"strconv"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/jsonbody"
)

// readBody reads and strictly decodes a JSON request body. A body over
// MaxBodyBytes is 413; malformed JSON is 400 bad_request_format.
func readBody(r *http.Request) (any, error) {
	body, err := io.ReadAll(r.Body)
	if isMaxBytes(err) {
		return nil, errs.New(errs.TooLarge, "request_entity_too_large",
			"request body is larger than %d bytes; send a smaller body", MaxBodyBytes)
	}
	if err != nil {
		return nil, errs.New(errs.BadRequest, "bad_request_format", "could not read the request body: %v", err)
	}
	return jsonbody.Decode(body)
}

// pathID parses the {id} path value. A malformed id names nothing, so it is
// a 404 for the object, like an unknown id.
func pathID(r *http.Request, object string) (int64, error) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.NotFoundf(object, "%s %q not found; ids are positive integers", object, raw)
	}
	return id, nil
}
