package api

import (
	"time"

	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// provisioningView is the part of order info that the provisioning flows
// and renewals add. ship_info is CertCentral's field; shipment, pickup,
// is_renewed and renewed_by_order_id are docsign-ca's own.
type provisioningView struct {
	ShipInfo *shipInfoView `json:"ship_info,omitempty"`
	// Shipment is the state of a ship_token order's token.
	Shipment *shipmentView `json:"shipment,omitempty"`
	// Pickup is the state of a client_app order's pickup code; the code
	// itself is never shown, because only its hash is stored.
	Pickup           *pickupView `json:"pickup,omitempty"`
	IsRenewed        bool        `json:"is_renewed"`
	RenewedByOrderID int64       `json:"renewed_by_order_id,omitempty"`
}

type shipInfoView struct {
	Name    string `json:"name"`
	Addr1   string `json:"addr1"`
	Addr2   string `json:"addr2"`
	City    string `json:"city"`
	State   string `json:"state"`
	Zip     string `json:"zip"`
	Country string `json:"country"`
	Method  string `json:"method"`
}

type shipmentView struct {
	// State is awaiting_token, key_generated, provisioned or shipped.
	State          string `json:"state"`
	TokenSerial    string `json:"token_serial,omitempty"`
	Carrier        string `json:"carrier,omitempty"`
	TrackingNumber string `json:"tracking_number,omitempty"`
	ProvisionedAt  string `json:"provisioned_at,omitempty"`
	ShippedAt      string `json:"shipped_at,omitempty"`
}

type pickupView struct {
	// Status is active, expired, redeemed, locked or withdrawn.
	Status     string `json:"status"`
	ExpiresAt  string `json:"expires_at"`
	RedeemedAt string `json:"redeemed_at,omitempty"`
}

// shipmentAwaitingToken is the state of a ship_token order before a key
// was generated on a token for it.
const shipmentAwaitingToken = "awaiting_token"

func viewProvisioning(info *order.OrderInfo) provisioningView {
	var v provisioningView
	if ship := info.Details.ShipInfo; ship != nil {
		v.ShipInfo = &shipInfoView{Name: ship.Name, Addr1: ship.Addr1, Addr2: ship.Addr2, City: ship.City, State: ship.State,
			Zip: ship.Zip, Country: ship.Country, Method: ship.Method}
	}
	p := info.Provisioning
	if p == nil {
		return v
	}
	if info.Order.ProvisioningMethod == store.ProvisioningShipToken {
		v.Shipment = viewShipment(p.Shipment)
	}
	if p.Pickup != nil {
		v.Pickup = &pickupView{Status: p.Pickup.Status, ExpiresAt: p.Pickup.ExpiresAt.Format(dateTimeLayout),
			RedeemedAt: optionalTime(p.Pickup.RedeemedAt)}
	}
	v.IsRenewed = p.RenewedByOrderID != 0
	v.RenewedByOrderID = p.RenewedByOrderID
	return v
}

func viewShipment(sh *store.Shipment) *shipmentView {
	if sh == nil {
		return &shipmentView{State: shipmentAwaitingToken}
	}
	return &shipmentView{
		State: sh.State, TokenSerial: sh.TokenSerial, Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber,
		ProvisionedAt: optionalTime(sh.ProvisionedAt), ShippedAt: optionalTime(sh.ShippedAt),
	}
}

func optionalTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(dateTimeLayout)
}
