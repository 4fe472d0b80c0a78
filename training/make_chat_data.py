#!/usr/bin/env python3
"""Generate the demo chat data for the three domains into data/chat/ (OpenAI `messages` JSONL).

The conversations are written for lora-edge: a fictional online store (Fernhill Home) for
`support`, and a fictional messaging API company (Relaykit) for `sales` and `technical`. Each
conversation is assembled from hand-written scenario templates with slot values (names, order
numbers, plans, error codes...) and one to three customer/agent exchanges. Seeded and deterministic:
re-running it rewrites the same files.

    python training/make_chat_data.py                  # 360 conversations per domain (320 train, 40 eval)
    python training/make_chat_data.py --per-domain 500 --eval-fraction 0.1 --out /tmp/chat
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
DOMAINS = ("support", "sales", "technical")

# ---------------------------------------------------------------- slot values
FIRST_NAMES = ["Maya", "Jonas", "Priya", "Tom", "Lucia", "Ahmed", "Grace", "Kenji", "Sofia", "Daniel",
               "Amara", "Liam", "Chloe", "Mateo", "Hannah", "Ravi", "Elena", "Owen", "Yuki", "Fatima"]
AGENTS = ["Sam", "Alex", "Jordan", "Robin", "Casey", "Morgan"]
PRODUCTS = ["linen duvet cover", "cast-iron skillet", "oak side table", "wool throw blanket",
            "ceramic dinner set", "standing desk lamp", "bamboo bath towels", "espresso grinder",
            "velvet armchair", "set of glass storage jars", "memory foam pillow", "rattan laundry basket"]
CARRIERS = ["UPS", "DHL", "FedEx", "Royal Mail", "DPD", "USPS"]
CITIES = ["Leeds", "Austin", "Lyon", "Toronto", "Melbourne", "Dublin", "Denver", "Hamburg", "Bristol", "Portland"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
PLANS = {
    "Starter": {"price": 29, "unit": "month", "messages": "10,000 messages a month", "seats": 3},
    "Team": {"price": 12, "unit": "seat", "messages": "100,000 messages a month", "seats": 50},
    "Business": {"price": 24, "unit": "seat", "messages": "1 million messages a month", "seats": 500},
}
COMPANY_KINDS = ["logistics startup", "dental clinic chain", "online bookshop", "university IT team",
                 "marketing agency", "food delivery app", "property management firm", "nonprofit food bank",
                 "fintech company", "travel agency"]
LANGS = ["Python", "Node.js", "Go", "Java", "Ruby"]
SDK = {"Python": "relaykit (pip)", "Node.js": "@relaykit/node (npm)", "Go": "github.com/relaykit/relaykit-go",
       "Java": "com.relaykit:relaykit-java", "Ruby": "relaykit (gem)"}
ENDPOINTS = ["/v2/messages", "/v2/contacts", "/v2/channels", "/v2/webhooks", "/v2/templates"]
REGIONS = ["eu-west", "us-east", "ap-south"]

SUPPORT_SYSTEM = [
    "You are Fernhill Home's customer support assistant. Be friendly and precise, look up orders by "
    "number, and follow the returns policy: 30 days, free returns on damaged or wrong items.",
    "You help customers of the Fernhill Home online store with orders, deliveries, returns and refunds. "
    "Keep answers short and tell the customer what happens next.",
]
SALES_SYSTEM = [
    "You are a sales assistant for Relaykit, a messaging API. Plans: Starter $29/month (3 seats, 10k "
    "messages), Team $12/seat/month, Business $24/seat/month, Enterprise by quote. Annual billing saves 20%.",
    "You answer pricing and plan questions for Relaykit and prepare quotes. Be clear about prices, "
    "discounts and what each plan includes; offer a call with an account executive for large deals.",
]
TECH_SYSTEM = [
    "You are Relaykit's developer support engineer. Help with the REST API, SDKs, webhooks, errors and "
    "configuration. Give concrete steps and code or commands where they help.",
    "You are a technical assistant for the Relaykit messaging API (base URL https://api.relaykit.dev). "
    "Diagnose errors from the details given and ask for request IDs when logs are needed.",
]


class Slots(dict):
    """Slot values for one conversation; `fill` formats a template with them."""

    def fill(self, template: str) -> str:
        return template.format(**self)


def support_slots(rng: random.Random) -> Slots:
    day_ordered = rng.randrange(0, 3)
    return Slots(
        name=rng.choice(FIRST_NAMES), agent=rng.choice(AGENTS), order=f"FH-{rng.randrange(100000, 999999)}",
        product=rng.choice(PRODUCTS), product2=rng.choice(PRODUCTS), carrier=rng.choice(CARRIERS),
        city=rng.choice(CITIES), city2=rng.choice(CITIES), ordered=WEEKDAYS[day_ordered],
        due=WEEKDAYS[day_ordered + 2], days=rng.choice([2, 3, 4, 5]), price=f"{rng.randrange(19, 390)}.{rng.choice(['00', '50', '99'])}",
        tracking=f"1Z{rng.randrange(10**9, 10**10)}", refund_days=rng.choice([3, 5, 7]),
        size=rng.choice(["single", "double", "king"]), size2=rng.choice(["queen", "super king", "twin"]),
    )


def sales_slots(rng: random.Random) -> Slots:
    plan = rng.choice(list(PLANS))
    seats = rng.choice([5, 8, 12, 20, 25, 40, 60, 120, 300])
    p = PLANS[plan]
    monthly = p["price"] * (seats if p["unit"] == "seat" else 1)
    return Slots(
        name=rng.choice(FIRST_NAMES), agent=rng.choice(AGENTS), plan=plan, seats=seats,
        kind=rng.choice(COMPANY_KINDS), monthly=f"{monthly:,}", annual=f"{monthly * 12 * 0.8:,.0f}",
        plan_price=p["price"], plan_unit=p["unit"], plan_msgs=p["messages"],
        volume=rng.choice(["200,000", "2 million", "5 million", "40,000"]),
        team_total=f"{12 * seats:,}", business_total=f"{24 * seats:,}",
        trial=rng.choice([14, 30]), currency=rng.choice(["euros", "pounds", "Canadian dollars"]),
    )


def tech_slots(rng: random.Random) -> Slots:
    lang = rng.choice(LANGS)
    return Slots(
        name=rng.choice(FIRST_NAMES), agent=rng.choice(AGENTS), lang=lang, sdk=SDK[lang],
        endpoint=rng.choice(ENDPOINTS), region=rng.choice(REGIONS), region2=rng.choice(REGIONS),
        req=f"req_{rng.randrange(16**10, 16**11):x}", limit=rng.choice([50, 100, 300]),
        timeout=rng.choice([5, 10, 30]), version=f"{rng.randrange(1, 4)}.{rng.randrange(0, 12)}.{rng.randrange(0, 9)}",
        port=rng.choice([3000, 8080, 5000]), page=rng.choice([50, 100]),
    )


# A scenario is a list of turns: (user templates, assistant templates). One of each is picked per turn;
# later turns are follow-ups, and a conversation keeps one, two or three of them.
Scenario = list[tuple[list[str], list[str]]]

SUPPORT: list[Scenario] = [
    [  # where is my order
        (["Where is my order {order}? I ordered a {product} on {ordered} and haven't heard anything.",
          "My order {order} still hasn't arrived. Can you check what's going on?",
          "any update on order {order}? the tracking page hasn't changed in days"],
         ["Thanks for the order number. Order {order} ({product}) left our warehouse on {ordered} with {carrier}, "
          "tracking number {tracking}. The carrier expects to deliver it on {due}.",
          "I've checked order {order}: it shipped with {carrier} and is in transit to {city}. The estimated "
          "delivery date is {due}; you can follow it with tracking number {tracking}."]),
        (["It's already past {due} though. What happens if it doesn't come?",
          "Can you make sure it actually arrives this week? I need it for the weekend."],
         ["If it hasn't arrived within {days} business days of {due}, I'll open a trace with {carrier} and "
          "send a replacement at no cost, or refund you in full if you prefer.",
          "I've flagged the parcel with {carrier} as time-sensitive. If it isn't delivered by the end of the "
          "week, reply here and I'll ship a replacement by express delivery."]),
        (["Ok thanks.", "Great, thank you for checking."],
         ["You're welcome, {name}. I'll keep the case open until the parcel is delivered.",
          "Happy to help! You'll get an email from {carrier} when it's out for delivery."]),
    ],
    [  # refund for a return
        (["I sent back the {product} from order {order} two weeks ago. When do I get my refund?",
          "Where's my refund? I returned order {order} and haven't seen the money."],
         ["I can see the return for order {order} was received at our warehouse. The refund of ${price} was "
          "issued today and usually reaches your card within {refund_days} business days.",
          "Your returned {product} arrived and passed inspection, so I've just processed the refund of "
          "${price} to your original payment method. Banks take {refund_days} business days to show it."]),
        (["Will the shipping cost be refunded too?", "Do I get the original delivery fee back as well?"],
         ["Original delivery fees are refunded only when the item was faulty or we sent the wrong one. For a "
          "change-of-mind return the delivery fee isn't refundable, but the return label was free.",
          "Since the item wasn't damaged, the original delivery fee stays, as per our returns policy. The "
          "full item price of ${price} is refunded."]),
    ],
    [  # damaged item
        (["The {product} I received today is broken. Order {order}.",
          "My {product} arrived damaged, the box was crushed. What can you do?",
          "Order {order} came with a cracked {product}. Really disappointed."],
         ["I'm sorry it arrived damaged, {name}. Could you send a photo of the item and the box? Once I "
          "have it, I can ship a replacement straight away or refund you, whichever you prefer.",
          "That's not the condition it should arrive in, sorry. You don't need to send it back. Would you "
          "like a replacement {product} or a full refund of ${price}?"]),
        (["A replacement please.", "I'd rather have my money back.", "Replacement, if you have it in stock."],
         ["Done: a replacement {product} ships tomorrow with {carrier}, and you'll get the tracking number by "
          "email. No need to return the damaged one; please recycle it.",
          "I've issued a full refund of ${price} for order {order}. It should appear within {refund_days} "
          "business days."]),
    ],
    [  # wrong item
        (["I ordered a {product} but got a {product2} instead. Order {order}.",
          "You sent me the wrong item for order {order}. I wanted the {size} size and got {size2}."],
         ["Sorry for the mix-up. I've sent a prepaid return label to your email; the correct item will ship "
          "as soon as the carrier scans the return, and you won't be charged for any of it.",
          "Apologies, that's our mistake. I'm sending the correct item today by express at no cost, and "
          "you'll receive a free return label for the wrong one."]),
        (["Do I have to pay for the return?", "How long do I have to send the wrong one back?"],
         ["No, the return is free: just print the label and drop the parcel at any {carrier} point.",
          "You have 30 days to send it back with the free label. Returns of wrong items are always free."]),
    ],
    [  # change delivery address
        (["Can I change the delivery address for order {order}? I'm moving to {city2}.",
          "I typed the wrong address on order {order}, can you fix it?"],
         ["If the order hasn't shipped yet I can update it. Order {order} is still being packed, so please "
          "send me the full new address and I'll change it now.",
          "Order {order} is still in the warehouse, so there's time. What's the full new address, "
          "including the postcode?"]),
        (["It's 14 Mill Lane, {city2}.", "The new address is flat 3, 22 Harbour Road, {city2}."],
         ["Thanks, the delivery address for order {order} is now updated to {city2}. Delivery is still "
          "expected on {due}.",
          "Updated. You'll receive a confirmation email with the new address within a few minutes."]),
    ],
    [  # cancel order
        (["Please cancel order {order}, I ordered by mistake.", "I want to cancel my {product} order ({order})."],
         ["Order {order} hadn't shipped yet, so I've cancelled it. The ${price} hold on your card will be "
          "released within {refund_days} business days.",
          "Done: order {order} for the {product} is cancelled before dispatch, and the payment of ${price} "
          "is being reversed."]),
        (["Thanks. Will I get an email?", "How long until the money is back on my card?"],
         ["Yes, a cancellation confirmation is on its way to your inbox.",
          "Most banks show the reversal within {refund_days} business days; some release it sooner."]),
    ],
    [  # double charge
        (["I was charged twice for order {order}!", "My bank shows two payments of ${price} for one order."],
         ["I can see one payment captured for order {order}; the second one is a pending authorisation that "
          "your bank will release automatically within {refund_days} business days.",
          "You're right, the payment went through twice. I've refunded the duplicate charge of ${price}; it "
          "will show on your statement within {refund_days} business days."]),
        (["Can you send me proof of that refund?", "Ok. Can I get an invoice for the order?"],
         ["Sure, I've emailed you the refund receipt with the transaction reference.",
          "I've sent the invoice for order {order} to the email address on your account."]),
    ],
    [  # return policy
        (["What is your return policy? I might want to return the {product}.",
          "Can I return something if I just don't like it?"],
         ["You can return most items within 30 days of delivery if they're unused and in their original "
          "packaging. Start the return from your Orders page; the refund goes back to your original payment method.",
          "Yes: you have 30 days from delivery. Unused items in original packaging get a full refund of the item "
          "price. Returns for damaged or wrong items are free; for change of mind there's a $5.95 label fee."]),
        (["Does that include sale items?", "What about furniture like the {product}?"],
         ["Sale items follow the same 30-day policy. Only personalised products can't be returned.",
          "Large furniture can be returned too; we arrange a collection from your address instead of a label."]),
    ],
]

SALES: list[Scenario] = [
    [  # plan price
        (["How much does the {plan} plan cost?", "What's the price of {plan} for a team of {seats}?",
          "We're a {kind} with {seats} people. Which plan should we pick and what would it cost?"],
         ["The {plan} plan is ${plan_price} per {plan_unit} per month and includes {plan_msgs}. For {seats} "
          "seats on Team that's ${team_total}/month; on Business ${business_total}/month.",
          "For a {kind} of {seats} users, Team at $12/seat/month comes to ${team_total} a month. If you need SSO "
          "and audit logs, Business is $24/seat, so ${business_total} a month."]),
        (["Is there a discount if we pay yearly?", "Any discount for annual billing?"],
         ["Yes, annual billing saves 20%. For {seats} seats on {plan} that brings it to about ${annual} per "
          "year instead of paying monthly.",
          "Paying annually takes 20% off. On the {plan} plan that's ${annual} a year for your {seats} seats."]),
        (["Can you send that as a formal quote?", "Great, please put that in a quote for our finance team."],
         ["Of course. I'll prepare a quote for {seats} seats on {plan} with annual billing and email it today. "
          "It's valid for 30 days.",
          "Sure. What company name and billing address should go on the quote? I'll send it as a PDF within "
          "the hour."]),
    ],
    [  # trial
        (["Do you offer a free trial?", "Can we try Relaykit before buying?"],
         ["Yes, every paid plan has a {trial}-day free trial with no card required. You get the full Team "
          "features and 5,000 test messages.",
          "You can start a {trial}-day trial of the Team plan from the sign-up page. If you need longer to "
          "evaluate, I can extend it for your team."]),
        (["What happens when the trial ends?", "Will we be charged automatically after the trial?"],
         ["Nothing is charged automatically. At the end of the trial you choose a plan, or the workspace "
          "moves to read-only until you do.",
          "Only if you've added a card and picked a plan. Otherwise the account pauses and your data stays "
          "for 60 days."]),
    ],
    [  # compare plans
        (["What's the difference between Team and Business?", "Why would we need Business instead of Team?"],
         ["Team ($12/seat) covers most companies: 100k messages a month, shared inbox, API access. Business "
          "($24/seat) adds SAML SSO, audit logs, a 99.95% uptime SLA and 1M messages a month.",
          "The main reasons to choose Business are SSO, audit logs and the SLA. If your security team needs "
          "SAML or you send more than 100k messages a month, Business is the better fit."]),
        (["And Enterprise?", "What does Enterprise add on top?"],
         ["Enterprise adds a dedicated region, custom data retention, a named support engineer and volume "
          "pricing. It's quoted per deal; I can set up a call with an account executive.",
          "Enterprise is for large volumes and compliance needs: private deployment options, custom DPA, "
          "24/7 phone support. Pricing depends on volume, so we quote it individually."]),
    ],
    [  # volume quote
        (["We expect to send about {volume} messages a month. What would that cost?",
          "Can you quote us for {volume} messages per month across {seats} users?"],
         ["At {volume} messages a month you'd be on Business or Enterprise. Extra messages above the plan's "
          "allowance are $0.40 per thousand, with volume tiers from 5 million.",
          "For {volume} messages a month with {seats} users I'd suggest Business at ${business_total}/month; "
          "overage above 1M messages is billed at $0.40 per thousand."]),
        (["That's more than we budgeted. Any flexibility?", "Can you do better on price?"],
         ["With a 12-month commitment I can offer 25% off list instead of the standard 20%, and we can cap "
          "overage charges for the first quarter.",
          "There's room with an annual contract: I can include 10 free seats and lock the price for two years."]),
    ],
    [  # upgrade / downgrade
        (["We're on Starter and need more seats. How does upgrading work?",
          "Can we downgrade from Business to Team mid-contract?"],
         ["You can upgrade at any time from Billing settings; you only pay the prorated difference for the "
          "rest of the billing period.",
          "Downgrades take effect at the end of your current billing term. Business-only features like SSO "
          "will switch off then, so plan the change with your admin."]),
        (["Do we lose our message history?", "Will our API keys keep working?"],
         ["No, all your data and history stay as they are when you change plans.",
          "Yes, API keys, webhooks and integrations are unaffected by plan changes."]),
    ],
    [  # payment terms / invoicing
        (["Can we pay by invoice instead of card?", "Do you accept purchase orders?"],
         ["Invoice billing is available on annual plans over $3,000 a year, with 30-day payment terms. "
          "We accept purchase orders too.",
          "Yes, for annual Business and Enterprise contracts we invoice with net-30 terms and can reference "
          "your PO number."]),
        (["Can you invoice in {currency}?", "Do you charge VAT?"],
         ["We can invoice in USD, euros, pounds and Canadian dollars; the price is converted at a fixed "
          "rate for the whole contract term.",
          "VAT or sales tax is added where applicable, based on your billing address. Provide a VAT number "
          "and EU business customers are invoiced with reverse charge."]),
    ],
    [  # nonprofit / education discount
        (["We're a {kind}. Do you have discounts for nonprofits or education?",
          "Is there special pricing for charities?"],
         ["Yes, registered nonprofits and schools get 50% off Team and Business. Send me proof of status "
          "and I'll apply it to your workspace.",
          "We offer 50% off for nonprofits and accredited education. It applies to monthly and annual plans."]),
        (["How long does approval take?", "Can it be combined with the annual discount?"],
         ["Usually one business day once we have the documents.",
          "Yes, it stacks with the annual billing discount."]),
    ],
]

TECHNICAL: list[Scenario] = [
    [  # 401
        (["I'm getting a 401 Unauthorized from {endpoint} even though my API key is correct.",
          "All my calls to the API fail with 401 invalid_api_key. Using the {lang} SDK {version}."],
         ["A 401 means the key was rejected. Check that the header is `Authorization: Bearer <key>` (not "
          "`Token`), that the key belongs to the same project, and that it's a live key if you call the "
          "live endpoint. Test keys start with `rk_test_`.",
          "With the {lang} SDK, make sure `RELAYKIT_API_KEY` is set in the environment the process actually "
          "runs in; a key from another project or a revoked key also returns 401. Try `curl -H \"Authorization: "
          "Bearer $RELAYKIT_API_KEY\" https://api.relaykit.dev/v2/ping`."]),
        (["curl works, but the SDK still fails.", "Ah, it was a test key against live. Can I use test keys in CI?"],
         ["Then the SDK isn't picking up the variable. Pass the key explicitly when constructing the client, "
          "or print the first 8 characters of the key the SDK sees to confirm it.",
          "Yes. Test keys work against the same base URL in test mode: nothing is delivered, but requests are "
          "validated and webhooks fire with `livemode: false`."]),
    ],
    [  # 429
        (["We're hitting 429 Too Many Requests on {endpoint}. What are the limits?",
          "Our batch job gets rate limited after a few seconds."],
         ["The default limit is {limit} requests per second per project, with bursts up to twice that. Each "
          "429 includes a `Retry-After` header; back off for that many seconds and retry.",
          "You're over the per-project limit of {limit} requests/second. Use the batch endpoint "
          "`POST /v2/messages/batch` (up to 500 messages per call) instead of one request per message."]),
        (["Can the limit be raised?", "Does the SDK retry automatically?"],
         ["Business and Enterprise projects can request a higher limit from the dashboard under "
          "Settings → Limits, with your expected peak rate.",
          "The {lang} SDK retries 429 and 5xx responses up to 3 times with exponential backoff; you can change "
          "it with the `max_retries` option."]),
    ],
    [  # webhook signature
        (["Webhook signature verification keeps failing.", "How do I verify Relaykit webhook signatures in {lang}?"],
         ["Verify against the raw request body, before any JSON parsing: compute HMAC-SHA256 of "
          "`timestamp + '.' + body` with your endpoint's signing secret and compare it with the `v1` value in "
          "the `Relaykit-Signature` header using a constant-time comparison.",
          "The most common cause is a framework that parses and re-serialises the body. Read the raw bytes, "
          "and use the signing secret of this webhook endpoint (`whsec_...`), not your API key."]),
        (["It works now. Should I also check the timestamp?", "What about replay attacks?"],
         ["Yes, reject events whose timestamp is more than 5 minutes old; the SDK helper does this by default.",
          "Check the timestamp tolerance (5 minutes) and store the event `id`s you've processed, since "
          "deliveries can be retried."]),
    ],
    [  # timeouts
        (["Requests to {endpoint} time out after {timeout} seconds from our server in {region}.",
          "We get intermittent timeouts calling the API from {lang}."],
         ["Which region is your project in? If it's {region2} and you call from {region}, use the regional "
          "base URL `https://{region2}.api.relaykit.dev` to avoid a cross-region hop. A request ID from a slow "
          "call would help me check the server side.",
          "Please send a request ID from a failed call (the `Relaykit-Request-Id` header). Meanwhile, raise the "
          "client timeout to 30 seconds for sends with attachments, which can take longer."]),
        (["Here's one: {req}.", "Request ID {req}, it took 31 seconds."],
         ["Thanks. {req} spent under 200 ms on our side, so the time went to the network between your host and "
          "our edge. Check for a proxy or DNS resolution delay on your server.",
          "I see {req}: it waited on an attachment upload from a slow URL. Upload media first with "
          "`POST /v2/media` and reference its ID in the message."]),
    ],
    [  # config / env
        (["How do I configure the {lang} SDK for the {region} region?",
          "What environment variables does the SDK read?"],
         ["Set `RELAYKIT_REGION={region}` or pass `region=\"{region}\"` when creating the client. The SDK then "
          "uses `https://{region}.api.relaykit.dev`.",
          "The SDK reads `RELAYKIT_API_KEY`, `RELAYKIT_REGION` and `RELAYKIT_TIMEOUT` (seconds). Explicit "
          "constructor arguments win over the environment."]),
        (["Can I use a config file instead?", "And for a proxy?"],
         ["Yes, put the same keys in `relaykit.toml` in your working directory; environment variables override it.",
          "Set `HTTPS_PROXY`; the SDK honours the standard proxy variables."]),
    ],
    [  # SDK install error
        (["Installing {sdk} fails with a dependency conflict.", "After upgrading the {lang} SDK to {version} my build breaks."],
         ["Version {version} needs a recent HTTP client; pin the previous minor version for now, or upgrade "
          "your other dependency that holds the old one back. The changelog lists the exact requirement.",
          "What error does the build print? Major version 3 renamed `Client.send` to `client.messages.create`; "
          "the migration guide maps every old call to the new one."]),
        (["It says the module has no attribute send.", "Pinning worked, thanks."],
         ["That's the rename: replace `client.send(...)` with `client.messages.create(...)`; the arguments are the same.",
          "Good. Keep an eye on the changelog; the pin can go once your other dependency is updated."]),
    ],
    [  # pagination
        (["How do I list all contacts? I only get the first {page}.", "The list endpoint only returns one page."],
         ["List endpoints are cursor-paginated: pass `limit` (max {page}) and then the `next_cursor` from each "
          "response as `cursor` until it's null. The SDK's `list_all()` iterator does this for you.",
          "Each response has `has_more` and `next_cursor`. Keep requesting with `cursor=<next_cursor>` while "
          "`has_more` is true."]),
        (["Is the order stable if contacts are added while I page?", "Can I filter by creation date?"],
         ["Yes, cursors are stable: new contacts appear at the end and nothing is skipped or repeated.",
          "Use `created_after` and `created_before` (ISO 8601) on the list call."]),
    ],
    [  # 500 / server error
        (["I'm seeing 500 errors from {endpoint} since this morning.", "The API returns 502 Bad Gateway sometimes."],
         ["Sorry about that. Our status page shows a partial outage in {region} that is being fixed. Requests "
          "are safe to retry with the same `Idempotency-Key` header, so messages won't be sent twice.",
          "Could you share a request ID? 5xx errors are on our side; retry with an `Idempotency-Key` so a "
          "retried send can't duplicate a message."]),
        (["Request {req}.", "Is there a way to get notified about incidents?"],
         ["Thanks, {req} hit a node that has since been replaced. Retries should succeed now.",
          "Subscribe on status.relaykit.dev for email or webhook notifications per region."]),
    ],
    [  # CORS
        (["Calling the API from the browser gives a CORS error.", "Why does my React app get blocked by CORS on {endpoint}?"],
         ["The API doesn't allow browser calls with secret keys, on purpose: anyone could read the key from "
          "your page. Call Relaykit from your backend and expose your own endpoint to the frontend.",
          "CORS is disabled for secret keys. Use a publishable key (`rk_pub_`) for the few browser-safe "
          "endpoints, or proxy the call through your server on port {port}."]),
        (["Which endpoints work with a publishable key?", "Ok, proxying it. Any tips?"],
         ["Only widget and contact-capture endpoints; sending messages always needs a secret key.",
          "Keep the key in a server-side environment variable and validate the user's session before forwarding."]),
    ],
]

DOMAIN_SPEC: dict[str, tuple[list[Scenario], list[str], Callable[[random.Random], Slots]]] = {
    "support": (SUPPORT, SUPPORT_SYSTEM, support_slots),
    "sales": (SALES, SALES_SYSTEM, sales_slots),
    "technical": (TECHNICAL, TECH_SYSTEM, tech_slots),
}

OPENERS = ["", "Hi! ", "Hello, ", "Hi there. ", "Good morning. ", "Quick question: "]
CLOSERS = ["", " Thanks.", " Thanks in advance!", " Appreciate it."]


def conversation(domain: str, rng: random.Random) -> dict:
    """One conversation: system prompt, then 1-3 user/assistant exchanges from one scenario."""
    scenarios, systems, make_slots = DOMAIN_SPEC[domain]
    scenario = rng.choice(scenarios)
    slots = make_slots(rng)
    turns = rng.choice([1, 2, 2, 3]) if len(scenario) >= 3 else rng.choice([1, 2, 2])
    messages = [{"role": "system", "content": rng.choice(systems)}]
    for i, (users, assistants) in enumerate(scenario[:turns]):
        user = slots.fill(rng.choice(users))
        if i == 0:
            opener = rng.choice(OPENERS)
            if opener.endswith(", "):
                user = user[0].lower() + user[1:] if not user.startswith("I ") else user
            user = opener + user + rng.choice(CLOSERS)
        messages.append({"role": "user", "content": user})
        messages.append({"role": "assistant", "content": slots.fill(rng.choice(assistants))})
    return {"messages": messages}


def generate(domain: str, count: int, seed: int) -> list[dict]:
    # Per-domain seed offset keeps one domain's data unchanged when another domain's templates change.
    rng = random.Random(seed * 1000 + DOMAINS.index(domain))
    rows, seen = [], set()
    while len(rows) < count:  # drop exact repeats so eval never contains a train conversation
        row = conversation(domain, rng)
        key = json.dumps(row, sort_keys=True)
        if key not in seen:
            seen.add(key)
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "data" / "chat", help="output folder (default: %(default)s)")
    parser.add_argument("--per-domain", type=int, default=360, help="conversations per domain (default: %(default)s)")
    parser.add_argument("--eval-fraction", type=float, default=1 / 9, help="share kept for eval (default: 1/9)")
    parser.add_argument("--seed", type=int, default=6, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.per_domain < 2:
        parser.error("--per-domain must be at least 2 (one train and one eval conversation)")
    if not 0 < args.eval_fraction < 1:
        parser.error("--eval-fraction must be between 0 and 1")

    args.out.mkdir(parents=True, exist_ok=True)
    for domain in DOMAINS:
        rows = generate(domain, args.per_domain, args.seed)
        n_eval = max(1, round(len(rows) * args.eval_fraction))
        for split, part in (("train", rows[n_eval:]), ("eval", rows[:n_eval])):
            path = args.out / f"{domain}.{split}.jsonl"
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part))
            print(f"make_chat_data: {path} ({len(part)} conversations)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
