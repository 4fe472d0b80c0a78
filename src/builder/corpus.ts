/**
 * Training text for the embedded demo model's tokenizer: plain English in the three domains the
 * router knows (customer service, sales, technical support), written for lora-edge. It lives in
 * code so the tokenizer, and with it the model package, rebuilds byte for byte anywhere.
 *
 * @example buildTokenizer({ corpus: DEFAULT_CORPUS, vocabSize: 2048 })
 */
export const DEFAULT_CORPUS: string = [
  // customer service
  `Thank you for reaching out to our support team. I'm sorry to hear that your order arrived damaged. Could you share your order number and a photo of the package? Once I have those, I can arrange a replacement or a full refund, whichever you prefer.

I understand how frustrating it is when a delivery is late. I've checked the tracking details for order 48213, and the parcel left our warehouse on Monday. The carrier shows a delay at the regional hub, so it should reach you within two business days. If it hasn't arrived by Friday, please reply to this message and we'll send a new one right away.

Your refund of $42.90 has been processed. It usually takes three to five business days for the amount to appear on your statement, depending on your bank. You'll receive a confirmation email shortly with the transaction reference.

We're sorry for the inconvenience. As a thank-you for your patience, we've added a 15% discount code to your account. It will be applied automatically at checkout on your next purchase, and it's valid for ninety days.

To return an item, sign in to your account, open "Orders", and choose "Start a return" next to the product. Print the prepaid label, pack the item in its original box if you still have it, and drop it off at any post office. Returns are free within thirty days of delivery.

I've updated the shipping address on your account. Please note that orders already in transit can't be redirected, but every order placed from now on will go to the new address. Is there anything else I can help you with today?

Hello Maria, thanks for your patience while we looked into this. The charge you noticed was a pre-authorization hold, not a payment. It will drop off automatically within a few days. You have not been billed twice.

If you would like to cancel your subscription, you can do it at any time from the "Billing" page. Your plan stays active until the end of the current billing period, and you won't be charged again. We'd love to know why you're leaving, so there's a short optional survey on that page.

I've escalated your case to our senior team. A specialist will contact you by phone within 24 hours. Your case number is CS-20931; please keep it handy in case you need to reach us again.

Our customer service team is available Monday through Friday, from 8 a.m. to 8 p.m., and on Saturdays from 9 a.m. to 5 p.m. You can also chat with us any time through the help center, and we aim to answer every email within one business day.

I'm afraid the item you asked about is out of stock at the moment. I can add you to the waiting list so that you get an email as soon as it's back. Alternatively, the newer model has the same features and is available to ship today.

Thanks for letting us know about the missing part. I've sent the replacement screws and bracket by express mail, free of charge. You should have them by Wednesday. We apologize for the trouble and appreciate you giving us the chance to make it right.

Good morning! I see that your loyalty points didn't show up after your last purchase. Points are usually added within 48 hours of delivery. I've added the 320 points manually, so your new balance is 1,450 points.

Could you confirm the email address associated with your account? For your security, I can't make changes to the account until we've verified your identity. I've just sent a six-digit code to the phone number on file.

We received your complaint and we take it seriously. The behavior you described does not meet our standards, and I've shared your feedback with the store manager. Thank you for taking the time to tell us; it helps us improve.

Your exchange has been approved. Please send back the medium shirt using the enclosed label, and we'll ship the large size as soon as the carrier scans the return. You don't need to wait for the return to arrive.

I'm happy to help you with your gift order. We can include a gift message and leave out the receipt and prices. The wrapping costs $4.99 and the message is free. Would you like me to add both?

It looks like your package was marked as delivered, but you haven't received it. First, please check with neighbors and around your building, since carriers sometimes leave parcels in a safe place. If it still doesn't turn up by tomorrow, let us know and we'll open an investigation with the carrier and send a replacement.

Warranty claims are handled directly by our team. The warranty covers defects in materials and workmanship for two years from the date of purchase. Accidental damage, such as drops or water, isn't covered, but we can offer a repair at a reduced price.

Thank you for your kind words! I'll pass your message along to Daniel, who helped you last week. Feedback like yours makes our day.

Dear customer, we noticed a problem with your most recent payment. Your card was declined, so the order is on hold. Please update your payment method within seven days to keep the order; otherwise, it will be canceled and the items returned to stock.

I'm sorry, but we can't accept returns on opened software or personalized items. However, if the product is faulty, we'll replace it under the warranty. Could you describe what's happening so I can check?

Hi there, and thanks for getting in touch. I can see two accounts registered under your email address, which is why your purchase history looks incomplete. I can merge them into one so that all your orders, points and saved addresses are in the same place. Merging can't be undone, so please reply "yes" if you'd like me to go ahead.

Your store credit of $25.00 is now on your account. Store credit never expires and can be combined with other offers. If you'd rather have the money back on your card, just let me know and I'll switch it.

I checked with the warehouse, and your order was split into two shipments because one item came from a different location. The first box was delivered today; the second one is on its way and should arrive on Thursday. You won't pay any extra shipping for the split.

Sorry for the wait on the phone earlier. Our call volume is higher than usual this week because of the holiday sale. Next time, you can skip the queue by using the "Call me back" button in the help center; we'll ring you when an agent is free.

Customer: Hi, I ordered a blue jacket but received a green one.
Agent: I'm sorry about the mix-up! I've arranged for the blue jacket to ship today by express delivery. You can keep the green one or donate it; there's no need to send it back.
Customer: That's very generous, thank you.
Agent: You're welcome. Is there anything else I can do for you?

We've received your request to delete your account. Before we do, please download anything you want to keep from the "Your data" page, because deletion is permanent. Your account will be closed within 30 days, and we'll send a final email when it's done.

I'm sorry the courier was rude to you. That's not acceptable, and I've filed a report with the delivery company including the time and address. They have asked us to pass on their apologies as well.

Price adjustments are available within fourteen days of purchase. Since the price of your coffee machine dropped from $189 to $159 last week, I've refunded the $30 difference to your original payment method.
`,
  // sales
  `Thanks for your interest in our team plan. For a group of twenty people, the annual plan works out to $18 per user per month, which is about 25% less than paying monthly. It includes shared workspaces, single sign-on, priority support and an admin dashboard.

Our starter package is a good fit for small businesses that are just getting started. It includes up to five users, 100 GB of storage and email support. As your company grows, you can upgrade at any time, and we'll credit the unused part of your current plan.

I'd be glad to set up a fifteen-minute demo for you and your team. I have openings on Tuesday at 10 a.m. and Thursday at 2 p.m. Eastern time. Let me know which works best, or suggest another time that suits you.

Here is the quote you requested: 50 licenses of the Professional edition at $29 each per month, billed annually, for a total of $17,400 per year. The quote includes onboarding sessions and a dedicated account manager. It's valid until the end of the month.

Many of our customers start with a free 14-day trial. There's no credit card required, and you can invite your whole team. At the end of the trial, you can choose a plan or simply let the account close; we'll never charge you without asking.

Compared with other tools on the market, our platform stands out for three reasons: it connects to the systems you already use, it keeps your data in the region you choose, and our support team answers in under an hour on average.

If budget is a concern this quarter, we can offer a phased rollout. You could start with the sales department in the first month and add marketing and finance later, paying only for the seats you actually use.

Our enterprise agreement includes a service level of 99.95% uptime, a security review with your IT team, custom contract terms and volume pricing. For more than 500 seats, pricing is tailored to your needs, so I'd suggest a short call to understand your requirements.

We're running a seasonal promotion: sign up before the 30th and get the first three months at half price. The offer applies to new customers on any annual plan, and it can be combined with the nonprofit discount.

Thank you for meeting with us yesterday. As promised, I've attached the product overview, the case study from a retail company of similar size, and the pricing sheet. I'll follow up next week, but feel free to reach out sooner with any questions.

The upgrade from Basic to Plus adds advanced reporting, automated workflows, and integrations with popular accounting software. Most customers find that the time saved on manual reports pays for the upgrade within the first two months.

I completely understand that you need approval from your finance team. Would it help if I prepared a short summary of the costs and expected savings? I can also join a call with your manager to answer questions directly.

We offer flexible payment terms for annual contracts: pay up front for an extra 5% discount, or pay quarterly at the standard rate. Invoices can be paid by bank transfer or credit card.

Our bundle includes the camera, two batteries, a 64 GB memory card and a carrying case for $649, which saves you $120 compared with buying each item separately. The bundle is available while supplies last.

Hi Jordan, I noticed your trial ends in three days. How has it gone so far? If you'd like, I can extend it by another week so your team can finish testing the reporting features.

Volume discounts start at 100 units: 5% off from 100 to 499 units, 10% off from 500 to 999, and 15% off for orders of 1,000 units or more. Shipping is free for all wholesale orders within the country.

Our partners earn a 20% commission on every new subscription they refer during the first year. Partners also get a demo account, sales training and co-branded marketing materials.

Renewal is coming up on March 1st. Since your team has grown from 12 to 30 users, I'd recommend switching to the Business plan, which costs less per user at that size and includes the audit log you asked about.

The new model is lighter, has a brighter display, and its battery lasts up to 18 hours. It's priced at $1,199, and with the trade-in program you can get up to $400 back for your current laptop.

If you're comparing plans, the main differences are storage, the number of projects, and support hours. Every plan includes unlimited guests, mobile apps, and two-factor authentication at no extra cost.

Customer: Do you offer a discount for schools?
Agent: Yes, accredited schools and universities get 40% off any plan. You'll need to verify with a school email address or an official letter, and the discount applies for as long as you stay eligible.
Customer: Can we pay by purchase order?
Agent: Absolutely. For orders over $1,000 we accept purchase orders with 30-day payment terms. I can send you a formal quote to attach to it.

Thank you for choosing us as your supplier. To confirm your order: 200 cases of the standard model and 50 cases of the premium model, delivered in two batches in April and May. I'll send the order confirmation and invoice today, and our logistics team will call you to schedule the deliveries.

I'd like to share a quick update on pricing. From July 1st, the Standard plan will cost $12 per user per month instead of $10. Because you've been with us for over two years, your current price is locked in for another twelve months, so nothing changes for you until next summer.

If you refer a friend, you both get one month free once they subscribe to any paid plan. There's no limit on referrals, so the more people you invite, the more free months you collect.

Most teams your size choose the Business plan because it includes advanced permissions and a dedicated onboarding call. That said, if you mainly need shared calendars and file storage, the Team plan covers everything and saves about $600 a year.

The difference between leasing and buying comes down to cash flow. With a lease, you pay a fixed monthly amount and upgrade every three years; buying costs more up front but is cheaper over five years or more. I'm happy to prepare both options so you can compare them side by side.

Our spring catalog is out! This season's highlights include a lighter office chair, a standing desk with memory presets, and a new range of recycled storage boxes. Orders placed before Sunday ship free.

Thanks for the call today, Priya. To recap: you'll pilot the software with eight users for sixty days, we'll provide weekly check-ins, and if the pilot meets the goals we agreed on, you'll move to an annual contract at the pilot price.
`,
  // technical support
  `Let's try a few steps to get your device working again. First, unplug the router and the modem, wait thirty seconds, and plug the modem back in. When its lights are steady, plug in the router. This resets the connection and fixes most Wi-Fi problems.

The error message "Connection timed out" usually means the app can't reach our servers. Please check that your firewall allows outgoing connections on port 443, and that your proxy settings are correct. If you're on a corporate network, your IT department may need to add our domain to the allow list.

To reset your password, click "Forgot password?" on the sign-in page and enter the email address for your account. You'll receive a link that's valid for one hour. If the email doesn't arrive, check your spam folder, then make sure the address is spelled correctly.

It sounds like the printer driver may be out of date. Open the Settings app, go to Devices, then Printers & scanners, and remove the printer. Then download the latest driver from the manufacturer's website, install it, and add the printer again.

Version 3.2.1 fixes the crash that some users saw when exporting large files. To update, open the app, choose Help, then Check for updates, and restart when prompted. Your projects and settings will be kept.

Please run the following command in a terminal and send us the output: "systeminfo" on Windows, or "uname -a" on Linux and macOS. This tells us the exact operating system version, which helps us reproduce the issue.

If the laptop won't turn on, connect the charger and check that the charging light comes on. Then hold the power button for fifteen seconds to do a hard reset. If the screen stays black but you can hear the fan, connect an external monitor to see whether the display is at fault.

The sync error happens when two devices edit the same file at the same time. Your changes aren't lost: the app keeps both versions and names the second one "conflicted copy". You can compare them and keep the one you want.

We've identified an outage affecting login for some users in Europe. Our engineers are working on a fix, and we'll post updates on the status page every thirty minutes. We apologize for the disruption and thank you for your patience.

To enable two-factor authentication, open Security settings, choose "Set up authenticator app", and scan the QR code with an app such as an authenticator on your phone. Enter the six-digit code to confirm, and store the backup codes somewhere safe.

Your API requests are being rejected with status 429, which means the rate limit was exceeded. The limit is 600 requests per minute per key. Please add a retry with exponential backoff, and consider batching requests where possible.

The database connection fails because the SSL certificate on the server expired yesterday. Renew the certificate, restart the service, and the clients will reconnect automatically. To avoid this in the future, set up automatic renewal and an alert thirty days before expiry.

If the app is slow after the update, try clearing the cache: go to Settings, Storage, and tap "Clear cache". This removes temporary files but keeps your account and data. If it's still slow, uninstall and reinstall the app.

Bluetooth headphones that won't pair usually need to be reset. Hold the power button for ten seconds until the light flashes red and blue, then remove the headphones from your phone's Bluetooth list and pair them again as a new device.

The installer needs at least 4 GB of free disk space and administrator rights. If it stops at 87%, temporarily disable your antivirus software, run the installer again as administrator, and turn the antivirus back on when it finishes.

Memory usage grows over time because the log viewer keeps every line in memory. In version 5.0, you can set a maximum number of lines under Preferences, Logs. We recommend 10,000 lines for most systems.

To move your data to a new computer, export a backup from the old one (File, Export, Full backup), copy the backup file to the new computer, install the app, and choose File, Import. The import keeps your folders, tags and history.

A blinking orange light on the router means it has no internet connection. Check that the cable from the wall is firmly connected to the port labeled WAN. If the light keeps blinking, there may be an outage in your area; your internet provider can confirm.

When the webhook isn't firing, check three things: the endpoint URL is reachable from the internet, it answers with status 200 within ten seconds, and the signing secret in your code matches the one in the dashboard. The delivery log shows each attempt and the response we received.

Your disk is almost full, which is why the backup failed. Delete old snapshots or move them to external storage, then run the backup again. The scheduler will retry tonight at 2 a.m. automatically.

Please try the steps again and tell me exactly where it stops, including any error code. A screenshot would help a lot. Once I know which step fails, I can tell you what to do next.

User: The app keeps logging me out every few minutes.
Agent: That usually happens when the clock on your device is wrong, because the sign-in token looks expired. Please open your device settings and turn on "Set time automatically", then sign in again.
User: That fixed it, thanks!
Agent: Great to hear. If it happens again, let me know and I'll look at the session logs.

To check whether the problem is on our side, open the status page. If all systems show as operational, try another network, such as your phone's hotspot. If the app works there, the issue is likely with your local network or firewall.

Error code E-1042 means the file you tried to upload is larger than the limit for your plan. The limit is 250 MB per file on the Standard plan and 5 GB on the Business plan. You can compress the file, split it into smaller parts, or upgrade your plan.

Before we continue, please make a backup of your data. Then go to Settings, About, and tap "Reset network settings". This clears saved Wi-Fi passwords and VPN profiles, but it doesn't delete any photos, messages or apps.

Our command-line tool prints more detail when you add the --verbose flag. Please run the failing command again with that flag, copy the last twenty lines of output, and paste them into your reply. Remove any passwords or API keys before sharing.

If the screen flickers after connecting a second monitor, try a different cable first; many cheap cables don't support high refresh rates. Then lower the refresh rate to 60 Hz in the display settings and see whether the flicker stops.

When you see "Permission denied" while saving, the folder is probably read-only or owned by another user. Right-click the folder, open Properties, and check the Security tab. On macOS or Linux, run "ls -l" to see the owner and permissions, and ask your administrator to grant write access if needed.

The mobile app supports the last two major versions of iOS and Android. If your phone runs an older version, the app store will offer the last compatible release, but new features and security fixes won't reach it.

After changing DNS records, allow up to 48 hours for the change to spread, although it usually takes less than an hour. You can check progress with an online lookup tool or by running "nslookup" followed by your domain name.
`,
].join("\n");
