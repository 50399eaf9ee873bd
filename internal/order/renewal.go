package order

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// DefaultRenewalNoticeDays are the days before a certificate's expiry on
// which its contacts receive a renewal notice; 0 is the day it expires.
var DefaultRenewalNoticeDays = []int{90, 60, 30, 7, 0}

// linkRenewedThumbprint makes the order renew the order of the certificate
// that renewed_thumbprint names, so that order info links both orders.
func (s *Service) linkRenewedThumbprint(req *DSOrgRequest, cert *store.Certificate, problems *errs.List) bool {
	switch {
	case req.RenewalOfOrderID == 0:
		req.RenewalOfOrderID = cert.OrderID
		return true
	case req.RenewalOfOrderID != cert.OrderID:
		problems.Invalid("renewed_thumbprint",
			"the certificate with thumbprint %s belongs to order %d, not to order %d of renewal_of_order_id; send the id and thumbprint of the same order",
			req.RenewedThumbprint, cert.OrderID, req.RenewalOfOrderID)
		return false
	}
	return true
}

// checkRenewedOnce rejects a second renewal of an order. A rejected or
// canceled renewal renewed nothing and does not count.
// NOTE: two renewals placed at the same moment can both pass this check;
// the orders_one_renewal index then stores one, and the other request
// fails with internal_error instead of this 400.
func (s *Service) checkRenewedOnce(ctx context.Context, renewedID int64, path string, problems *errs.List) {
	existing, err := s.store.RenewalOrder(ctx, renewedID)
	if err != nil {
		s.log.Error("check for an earlier renewal", "order_id", renewedID, "error", err)
		problems.Invalid(path, "could not check whether order %d was renewed before; retry the request", renewedID)
		return
	}
	if existing != 0 {
		problems.Invalid(path, "order %d was already renewed by order %d, and an order can be renewed once; renew order %d instead",
			renewedID, existing, existing)
	}
}

// ParseRenewalNoticeDays reads a comma-separated list of days such as
// "90,60,30,7,0".
func ParseRenewalNoticeDays(text string) ([]int, error) {
	var days []int
	for _, field := range strings.Split(text, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		n, err := strconv.Atoi(field)
		if err != nil || n < 0 || n > 1095 {
			return nil, fmt.Errorf("invalid renewal notice day %q; use whole days from 0 to 1095, such as 90,60,30,7,0", field)
		}
		if !slices.Contains(days, n) {
			days = append(days, n)
		}
	}
	slices.Sort(days)
	return days, nil
}

// noticeThreshold returns the smallest day in days (sorted ascending) that
// the time left before expiry has reached, or false when it reached none.
// Only the most urgent notice is sent, so a certificate issued with 45
// days of validity gets the 30-day notice but never the 90- or 60-day one.
func noticeThreshold(days []int, left time.Duration) (int, bool) {
	for _, d := range days {
		if left <= time.Duration(d)*24*time.Hour {
			return d, true
		}
	}
	return 0, false
}

// renewalPageSize is how many orders near expiry QueueRenewalNotices reads
// at a time, which keeps its memory bounded however many there are. Tests
// lower it to cross page boundaries.
var renewalPageSize = 500

// QueueRenewalNotices queues a renewal notice for every issued order whose
// certificate reached one of days (sorted ascending) before its expiry,
// once per certificate and day, and returns how many it queued. Orders
// with disable_renewal_notifications, orders already renewed, and orders
// marked renewed or not_renewed get none. A certificate that expired more
// than a day ago gets none either, so that a server started after a long
// stop does not mail about old certificates.
func (s *Service) QueueRenewalNotices(ctx context.Context, days []int) (int, error) {
	if len(days) == 0 {
		return 0, nil
	}
	now := s.now().UTC()
	horizon := now.Add(time.Duration(days[len(days)-1]) * 24 * time.Hour)

	pageSize := renewalPageSize
	queued := 0
	var cursor store.RenewalCursor
	for {
		candidates, err := s.store.RenewalCandidates(ctx, now.Add(-24*time.Hour), horizon, cursor, pageSize)
		if err != nil {
			return queued, err
		}
		for _, c := range candidates {
			ok, err := s.queueRenewalNotice(ctx, c, days, now)
			if err != nil {
				return queued, err
			}
			if ok {
				queued++
			}
		}
		if len(candidates) < pageSize {
			return queued, nil
		}
		last := candidates[len(candidates)-1]
		cursor = store.RenewalCursor{ValidTill: last.ValidTill, OrderID: last.Order.ID}
	}
}

func (s *Service) queueRenewalNotice(ctx context.Context, c store.RenewalCandidate, days []int, now time.Time) (bool, error) {
	day, ok := noticeThreshold(days, c.ValidTill.Sub(now))
	if !ok {
		return false, nil
	}
	d, err := Details(&c.Order)
	if err != nil {
		return false, fmt.Errorf("decode details of order %d: %w", c.Order.ID, err)
	}
	if d.DisableRenewalNotifications {
		return false, nil
	}

	queued, err := s.store.QueueNotification(ctx, store.Notification{
		Kind:          store.NoticeRenewal,
		OrderID:       c.Order.ID,
		CertificateID: c.CertificateID,
		DedupeKey:     fmt.Sprintf("%s:%d:%d", store.NoticeRenewal, c.CertificateID, day),
		Payload:       map[string]string{"days": strconv.Itoa(day)},
	})
	if err != nil {
		return false, err
	}
	if queued {
		s.log.Info("renewal notice queued", "order_id", c.Order.ID, "certificate_id", c.CertificateID, "days_before_expiry", day,
			"valid_till", c.ValidTill.Format(time.RFC3339))
	}
	return queued, nil
}
