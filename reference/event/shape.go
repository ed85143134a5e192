package event

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Shape is the body layout of a provider's deliveries. hookproof's event (an Envelope) is laid
// out in it: ShapeEnvelope sends the envelope itself; the provider shapes wrap its data the way
// the provider's own events carry a business object, so that a receiver built on the
// provider's official library parses it (stripe-go's ConstructEvent needs a Stripe event with
// data.object; slack-go's ParseEvent an event_callback). In every shape the event's data keeps
// object_id and seq, which ordering and the effect sink read.
type Shape string

const (
	ShapeEnvelope Shape = "" // {"id","type","timestamp","data"}: standard, svix, shopify
	// ShapeStripeEvent is a Stripe event object: {"id":"<delivery id>","object":"event",
	// "api_version","created","data":{"object":<data>},"livemode","pending_webhooks","request",
	// "type"}. The delivery id is the event's id.
	ShapeStripeEvent Shape = "stripe-event"
	// ShapeSlackEventCallback is a Slack Events API event_callback: {"token","team_id",
	// "api_app_id","event":{"type":"app_mention",…<data's members>},"type":"event_callback",
	// "event_id":"<delivery id>","event_time","authorizations"}.
	ShapeSlackEventCallback Shape = "slack-event-callback"
	// ShapeGitHubRepositoryDispatch is a GitHub repository_dispatch event, the one GitHub event
	// whose payload carries an application's own JSON: {"action":"<type>","branch",
	// "client_payload":<data>,"repository","sender","installation"}. The delivery id travels in
	// X-GitHub-Delivery only.
	ShapeGitHubRepositoryDispatch Shape = "github-repository-dispatch"
	// ShapeShopifyOrder is the resource of Shopify's orders/updated topic: an order, whose own
	// members are the event's data ({"admin_graphql_api_id","name","currency","updated_at",
	// …<data's members>}). The delivery id travels in X-Shopify-Webhook-Id only.
	ShapeShopifyOrder Shape = "shopify-order"
)

// StripeAPIVersion is the api_version of the Stripe events hookproof sends: stripe-go v82's
// (its ConstructEvent refuses an event of another release train).
const StripeAPIVersion = "2025-08-27.basil"

// Slack workspace ids of the events hookproof sends.
const (
	SlackTeamID = "T0HOOKPROOF"
	SlackAppID  = "A0HOOKPROOF"
	SlackUserID = "U0HOOKPROOF"
)

// Append appends e laid out in shape s to dst. Like AppendJSON it allocates only to grow dst;
// e.Data must be a JSON object.
func (s Shape) Append(dst []byte, e *Envelope) []byte {
	switch s {
	case ShapeStripeEvent:
		dst = append(dst, `{"id":`...)
		dst = appendString(dst, e.ID)
		dst = append(dst, `,"object":"event","api_version":"`+StripeAPIVersion+`","created":`...)
		dst = strconv.AppendInt(dst, e.Timestamp.Unix(), 10)
		dst = append(dst, `,"data":{"object":`...)
		dst = appendData(dst, e.Data)
		dst = append(dst, `},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":`...)
		dst = appendString(dst, e.Type)
		return append(dst, '}')
	case ShapeSlackEventCallback:
		ts := strconv.AppendInt(nil, e.Timestamp.Unix(), 10)
		ts = append(ts, ".000100"...)
		dst = append(dst, `{"token":"hookproof-verification-token","team_id":"`+SlackTeamID+`","api_app_id":"`+SlackAppID+`",`...)
		dst = append(dst, `"event":{"type":"app_mention","user":"`+SlackUserID+`","text":`...)
		dst = appendString(dst, e.Type)
		dst = append(dst, `,"channel":"C0HOOKPROOF","ts":"`...)
		dst = append(dst, ts...)
		dst = append(dst, `","event_ts":"`...)
		dst = append(dst, ts...)
		dst = append(dst, '"')
		if d := bytes.TrimSpace(e.Data); len(d) > 2 && d[0] == '{' {
			dst = append(dst, ',')
			dst = append(dst, bytes.TrimSpace(d[1:])...) // the data's members, and its closing brace
		} else {
			dst = append(dst, '}')
		}
		dst = append(dst, `,"type":"event_callback","event_id":`...)
		dst = appendString(dst, e.ID)
		dst = append(dst, `,"event_time":`...)
		dst = strconv.AppendInt(dst, e.Timestamp.Unix(), 10)
		return append(dst, `,"authorizations":[{"team_id":"`+SlackTeamID+`","user_id":"`+SlackUserID+`","is_bot":true}]}`...)
	case ShapeShopifyOrder:
		dst = append(dst, `{"admin_graphql_api_id":"gid://shopify/Order/1001","name":"#1001"`...)
		dst = append(dst, `,"currency":"USD","updated_at":"`...)
		dst = e.Timestamp.AppendFormat(dst, "2006-01-02T15:04:05-07:00")
		dst = append(dst, '"')
		if d := bytes.TrimSpace(e.Data); len(d) > 2 && d[0] == '{' {
			dst = append(dst, ',')
			return append(dst, bytes.TrimSpace(d[1:])...)
		}
		return append(dst, '}')
	case ShapeGitHubRepositoryDispatch:
		dst = append(dst, `{"action":`...)
		dst = appendString(dst, e.Type)
		dst = append(dst, `,"branch":"main","client_payload":`...)
		dst = appendData(dst, e.Data)
		dst = append(dst, `,"repository":{"id":171717,"name":"webhooks-under-test","full_name":"hookproof/webhooks-under-test","private":true},`+
			`"sender":{"login":"hookproof[bot]","id":424242,"type":"Bot"},"installation":{"id":171717}}`...)
		return dst
	default:
		return e.AppendJSON(dst)
	}
}

func appendData(dst []byte, data json.RawMessage) []byte {
	if len(data) == 0 {
		return append(dst, "{}"...)
	}
	return append(dst, data...)
}

// envelope is every member Parse reads at the top of a body, in one pass over it.
type envelope struct {
	Object        string          `json:"object"`
	Type          string          `json:"type"`
	Action        string          `json:"action"`
	ClientPayload json.RawMessage `json:"client_payload"`
	Event         json.RawMessage `json:"event"`
	Data          json.RawMessage `json:"data"`
}

// unwrap finds the event's data inside a provider-shaped body (see Shape): a Stripe event's
// data.object, a GitHub repository_dispatch's client_payload, a Slack event_callback's event.
func (outer *envelope) unwrap() (typ string, data json.RawMessage, ok bool) {
	switch {
	case outer.Object == "event" && len(outer.Data) > 0:
		var d struct {
			Object json.RawMessage `json:"object"`
		}
		if err := json.Unmarshal(outer.Data, &d); (err == nil || isTypeError(err)) && len(d.Object) > 0 {
			return outer.Type, d.Object, true
		}
	}
	switch {
	case len(outer.ClientPayload) > 0 && outer.ClientPayload[0] == '{':
		return outer.Action, outer.ClientPayload, true
	case outer.Type == "event_callback" && len(outer.Event) > 0:
		var inner struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(outer.Event, &inner)
		return inner.Type, outer.Event, true
	}
	return "", nil, false
}
