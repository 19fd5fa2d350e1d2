package m365

import (
	"errors"
	"fmt"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/holdfast/holdfast/internal/graphapi"
)

// graphErr turns an SDK error into a *graphapi.Error (with the service's
// code, message and inner code) or passes it through, and says what was
// being done.
func graphErr(err error, what string, args ...any) error {
	if err == nil {
		return nil
	}
	doing := fmt.Sprintf(what, args...)
	var odata *odataerrors.ODataError
	if errors.As(err, &odata) {
		ge := &graphapi.Error{Status: odata.ResponseStatusCode}
		if main := odata.GetErrorEscaped(); main != nil {
			ge.Code = deref(main.GetCode())
			ge.Message = deref(main.GetMessage())
			if inner := main.GetInnerError(); inner != nil {
				if code, ok := inner.GetAdditionalData()["code"].(*string); ok {
					ge.Inner = deref(code)
				}
			}
		}
		return fmt.Errorf("%s: %w", doing, ge)
	}
	var api *abstractions.ApiError
	if errors.As(err, &api) {
		return fmt.Errorf("%s: %w", doing, &graphapi.Error{Status: api.ResponseStatusCode, Message: api.Message})
	}
	return fmt.Errorf("%s: %w", doing, err)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
