package order

import (
	"context"
	"errors"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// ProvisioningInfo is the part of order info that the provisioning flows
// and renewals add.
type ProvisioningInfo struct {
	// Pickup is the newest pickup code of a client_app order, nil before
	// the order reached waiting_pickup.
	Pickup *PickupState
	// Shipment is the token of a ship_token order, nil before a key was
	// generated for it.
	Shipment *store.Shipment
	// RenewedByOrderID is the order that renews this one, or 0.
	RenewedByOrderID int64
}

// PickupState is the state of a pickup code. The code itself is not in it,
// because only its hash is stored.
type PickupState struct {
	// Status is active, expired, redeemed, locked or withdrawn.
	Status     string
	ExpiresAt  time.Time
	RedeemedAt time.Time
}

// pickupState returns the state of the order's newest pickup code, or nil
// when the order has none.
func (s *Service) pickupState(ctx context.Context, orderID int64) (*PickupState, error) {
	code, err := s.store.LatestPickupCode(ctx, orderID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}

	state := &PickupState{Status: code.Status, ExpiresAt: code.ExpiresAt, RedeemedAt: code.RedeemedAt}
	if code.Status == store.PickupActive && !s.now().Before(code.ExpiresAt) {
		state.Status = PickupExpired
	}
	return state, nil
}

// PickupExpired is the status order info shows for an active code past
// its expiry.
const PickupExpired = "expired"

// provisioningInfo reads the pickup code, shipment and renewal of an order.
// Pickup codes exist only for client_app orders and shipments only for
// ship_token orders, and an order keeps its provisioning method from the
// moment it is placed, so an email order skips both reads.
func (s *Service) provisioningInfo(ctx context.Context, o *store.Order) (*ProvisioningInfo, error) {
	info := &ProvisioningInfo{}
	var err error

	if o.ProvisioningMethod == store.ProvisioningClientApp {
		if info.Pickup, err = s.pickupState(ctx, o.ID); err != nil {
			return nil, err
		}
	}

	if o.ProvisioningMethod == store.ProvisioningShipToken {
		shipment, err := s.store.Shipment(ctx, o.ID)
		switch {
		case err == nil:
			info.Shipment = shipment
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}

	if info.RenewedByOrderID, err = s.store.RenewalOrder(ctx, o.ID); err != nil {
		return nil, err
	}
	return info, nil
}

// DetailsView is the part of an order's stored details that e-mail
// notifications read.
type DetailsView struct {
	// Contacts are the order's organization and technical contacts, in the
	// order the request gave them.
	Contacts                    []ContactView
	AdditionalEmails            []string
	CustomRenewalMessage        string
	ShipInfo                    *ShipInfo
	DisableRenewalNotifications bool
}

// ContactView is one contact of an order: an existing user (UserID) or an
// address given with the order.
type ContactView struct {
	UserID    int64
	Email     string
	Technical bool
}

// NotificationDetails decodes the details of an order for notifications.
func NotificationDetails(o *store.Order) (*DetailsView, error) {
	d, err := Details(o)
	if err != nil {
		return nil, err
	}
	v := &DetailsView{
		AdditionalEmails:            d.AdditionalEmails,
		CustomRenewalMessage:        d.CustomRenewalMessage,
		ShipInfo:                    d.ShipInfo,
		DisableRenewalNotifications: d.DisableRenewalNotifications,
	}
	for _, c := range d.Contacts {
		// A verified_contact approves validations; it receives no order mail.
		if c.Type == contactTypeOrganization || c.Type == contactTypeTechnical {
			v.Contacts = append(v.Contacts, contactView(c, c.Type == contactTypeTechnical))
		}
	}
	if d.OrganizationContact != nil {
		v.Contacts = append(v.Contacts, contactView(*d.OrganizationContact, false))
	}
	if d.TechnicalContact != nil {
		v.Contacts = append(v.Contacts, contactView(*d.TechnicalContact, true))
	}
	return v, nil
}

// contactView turns a contact into a view. docsign-ca's contacts are the
// account's users, so a contact id and a user_id name the same user.
func contactView(c Contact, technical bool) ContactView {
	id := c.UserID
	if id == 0 {
		id = c.ID
	}
	return ContactView{UserID: id, Email: c.Email, Technical: technical}
}
