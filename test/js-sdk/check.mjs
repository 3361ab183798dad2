// SPDX-License-Identifier: BSL-1.0
// The official Wix JavaScript SDK against the emulator: what works against the emulator
// must work against the real service, and the other way round.
// Usage: node check.mjs <emulator url> <webhook port> <webhook public key file>
//        (with NODE_EXTRA_CA_CERTS=<emulator ca_file>; the emulator started with
//        --webhook-url http://127.0.0.1:<webhook port>/webhooks)
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createClient, ApiKeyStrategy, AppStrategy } from '@wix/sdk';
import * as conversations from '@wix/auto_sdk_inbox_conversations';
import * as messages from '@wix/auto_sdk_inbox_messages';

const apiBaseUrl = process.argv[2].replace(/^https:\/\//, ''); // the SDK adds https://
const client = createClient({
  modules: { conversations, messages },
  auth: ApiKeyStrategy({ apiKey: 'emulator-key', siteId: 'emulator-site' }),
  host: { apiBaseUrl },
});

// Every webhook the emulator delivers is kept here from the start; nextEvent() waits for the
// next one of a type, as the official SDK verifies and reads it.
const [webhookPort, webhookKeyFile] = [Number(process.argv[3]), process.argv[4]];
const publicKey = readFileSync(webhookKeyFile, 'utf8');
const app = createClient({ auth: AppStrategy({ appId: 'emulator-app', publicKey }) });
const bodies = [];
let wake = () => {};
const webhookServer = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => { res.end(); bodies.push(body); wake(); });
}).listen(webhookPort, '127.0.0.1');
await once(webhookServer, 'listening');
let examined = 0;
async function nextEvent(eventType) {
  for (;;) {
    while (examined < bodies.length) {
      const jwt = bodies[examined++];
      const event = await app.webhooks.process(jwt);
      if (event.eventType === eventType) return { jwt, event };
    }
    await new Promise((resolve) => { wake = resolve; });
  }
}

const member = '6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f';
const created = await client.conversations.getOrCreateConversation({ memberId: member });
assert.equal(created.newConversation, true);
assert.equal(created.conversation.participant.memberId, member);
assert.match(created.conversation._id, /^[0-9a-f-]{36}$/);

const again = await client.conversations.getOrCreateConversation({ memberId: member });
assert.equal(again.newConversation, false);
assert.equal(again.conversation._id, created.conversation._id);

const got = await client.conversations.getConversation(created.conversation._id);
assert.equal(got._id, created.conversation._id);
assert.deepEqual(got.channels, ['CHAT']);

await assert.rejects(client.conversations.getConversation('00000000-0000-4000-8000-000000000000'),
  (e) => JSON.stringify(e).includes('CONVERSATION_NOT_FOUND') || String(e).includes('404'));

// Messages: send five, then list them in pages of two, oldest first, and newest first.
const conversationId = created.conversation._id;
for (let i = 1; i <= 5; i++) {
  const sent = await client.messages.sendMessage(conversationId, {
    content: { basic: { items: [{ text: `m${i}` }] } },
    visibility: i === 3 ? 'BUSINESS' : 'BUSINESS_AND_PARTICIPANT',
    direction: 'BUSINESS_TO_PARTICIPANT',
  });
  assert.equal(sent.message.content.basic.items[0].text, `m${i}`);
  assert.match(sent.message._id, /^[0-9]+$/);
  assert.equal(sent.message.sequence, String(i));
}
const textsOf = (page) => page.messages.map((m) => m.content.basic.items[0].text);
async function listAll(visibility, order) {
  const texts = [];
  let cursor;
  let pages = 0;
  do {
    const page = await client.messages.listMessages(conversationId, visibility, {
      paging: { limit: 2, ...(cursor ? { cursor } : {}) },
      sorting: { fieldName: 'sequence', order },
    });
    texts.push(...textsOf(page));
    cursor = page.pagingMetadata?.cursors?.next;
    pages++;
  } while (cursor);
  return { texts, pages };
}
assert.deepEqual(await listAll('BUSINESS', 'ASC'), { texts: ['m1', 'm2', 'm3', 'm4', 'm5'], pages: 3 });
assert.deepEqual(await listAll('BUSINESS', 'DESC'), { texts: ['m5', 'm4', 'm3', 'm2', 'm1'], pages: 3 });
assert.deepEqual((await listAll('BUSINESS_AND_PARTICIPANT', 'ASC')).texts, ['m1', 'm2', 'm4', 'm5']);
assert.deepEqual(textsOf(await client.messages.listMessages(conversationId, 'BUSINESS')), ['m5', 'm4', 'm3', 'm2', 'm1']);

// Webhooks. The business's sends above are announced to the app.
const toParticipant = await nextEvent('wix.crm.inbox.v2.message_message_sent_to_participant');
assert.equal(toParticipant.event.payload.actionEvent.body.conversationId, conversationId);
assert.equal(toParticipant.event.payload.actionEvent.body.message.direction, 'BUSINESS_TO_PARTICIPANT');

// A visitor promoted to a member merges their conversation; the emulator's signed
// conversations_merged webhook must pass the SDK's own verification with the emulator's key.
const visitor = '6202c3bb-1a2b-4c3d-8e9f-00000000000a';
const merged = (await client.conversations.getOrCreateConversation({ anonymousVisitorId: visitor })).conversation._id;
const promoted = await fetch(`${process.argv[2]}/_emulator/promote`, {
  method: 'POST',
  body: JSON.stringify({ tenant: 'site:emulator-site', from: { anonymousVisitorId: visitor }, to: { memberId: member } }),
});
assert.equal(promoted.status, 200);
const { jwt, event } = await nextEvent('wix.crm.inbox.v2.conversation_conversations_merged');
assert.deepEqual(event.payload.actionEvent.body, { oldConversationIds: [merged], targetConversationId: conversationId });
assert.equal(event.accountInfo.siteId, 'emulator-site');
assert.equal(event.identity.identityType, 'UNKNOWN');
const [head, claims, signature] = jwt.split('.');
const forged = `${head}.${claims}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
await assert.rejects(app.webhooks.process(forged));

// The Messages events, through the SDK's own handlers: the participant's messages (played by
// the admin call, and sent through the API as the participant) and a pressed template button.
const handled = createClient({ modules: { messages }, auth: AppStrategy({ appId: 'emulator-app', publicKey }) });
const seen = [];
handled.messages.onMessageSentToBusiness((envelope) => { seen.push(['toBusiness', envelope]); });
handled.messages.onMessageButtonInteracted((envelope) => { seen.push(['button', envelope]); });
async function handle(eventType) {
  const { jwt: body } = await nextEvent(eventType);
  seen.length = 0;
  await handled.webhooks.process(body);
  assert.equal(seen.length, 1);
  return seen[0];
}
const site = 'site:emulator-site';
const played = await fetch(`${process.argv[2]}/_emulator/participant-message`, {
  method: 'POST',
  body: JSON.stringify({ tenant: site, participant: { memberId: member }, text: 'Is my order ready?' }),
});
assert.equal(played.status, 200);
const [kind, asked] = await handle('wix.crm.inbox.v2.message_message_sent_to_business');
assert.equal(kind, 'toBusiness');
assert.equal(asked.data.conversationId, conversationId);
assert.equal(asked.data.message.content.basic.items[0].text, 'Is my order ready?');
assert.equal(asked.data.message.sender.memberId, member);
assert.equal(asked.metadata.accountInfo.siteId, 'emulator-site');
assert.match(asked.metadata.instanceId, /^[0-9a-f-]{36}$/);

await client.messages.sendMessage(conversationId, {
  content: { basic: { items: [{ text: 'sent as the member' }] } },
  visibility: 'BUSINESS_AND_PARTICIPANT',
  direction: 'PARTICIPANT_TO_BUSINESS',
}, { sendAs: 'PARTICIPANT' });
const [, viaApi] = await handle('wix.crm.inbox.v2.message_message_sent_to_business');
assert.equal(viaApi.data.message.content.basic.items[0].text, 'sent as the member');
assert.equal(viaApi.data.message.direction, 'PARTICIPANT_TO_BUSINESS');

const card = await client.messages.sendMessage(conversationId, {
  content: { template: { title: 'Ready?', buttons: [{ label: 'Yes', postbackProperties: { interactionId: 'confirm-42' } }] } },
  visibility: 'BUSINESS_AND_PARTICIPANT',
  direction: 'BUSINESS_TO_PARTICIPANT',
});
const pressButton = (interactionId) => fetch(`${process.argv[2]}/_emulator/press-button`, {
  method: 'POST',
  body: JSON.stringify({ tenant: site, conversationId, messageId: card.message._id, interactionId }),
});
assert.equal((await pressButton('no-such-button')).status, 404);
assert.equal((await pressButton('confirm-42')).status, 200);
const [pressedKind, pressed] = await handle('wix.crm.inbox.v2.message_button_interacted');
assert.equal(pressedKind, 'button');
assert.equal(pressed.data.conversationId, conversationId);
assert.equal(pressed.data.interactionId, 'confirm-42');
assert.equal(pressed.data.interactedBy.memberId, member);
webhookServer.close();
webhookServer.closeAllConnections();

console.log('official JS SDK: conversations (get-or-create, get, a 404), messages (send, list paged both ways, '
  + 'by visibility) and the webhooks (conversations_merged, messages sent either way, a pressed button) all '
  + 'behave as with Wix');
