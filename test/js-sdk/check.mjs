// The official Wix JavaScript SDK against the emulator: what works against the emulator
// must work against the real service, and the other way round.
// Usage: node check.mjs <emulator url> <webhook port> <webhook public key file>
//        (with NODE_EXTRA_CA_CERTS=<emulator ca_file>; the emulator started with
//        --webhook-url http://127.0.0.1:<webhook port>/webhooks)
import assert from 'node:assert/strict';
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

// Webhooks: a visitor promoted to a member merges their conversation; the emulator's signed
// conversations_merged webhook must pass the SDK's own verification with the emulator's key.
const [webhookPort, webhookKeyFile] = [Number(process.argv[3]), process.argv[4]];
const received = new Promise((resolve) => {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => { res.end(); server.close(); resolve(body); });
  }).listen(webhookPort, '127.0.0.1');
});
const visitor = '6202c3bb-1a2b-4c3d-8e9f-00000000000a';
const merged = (await client.conversations.getOrCreateConversation({ anonymousVisitorId: visitor })).conversation._id;
const promoted = await fetch(`${process.argv[2]}/_emulator/promote`, {
  method: 'POST',
  body: JSON.stringify({ tenant: 'site:emulator-site', from: { anonymousVisitorId: visitor }, to: { memberId: member } }),
});
assert.equal(promoted.status, 200);
const jwt = await received;
const app = createClient({ auth: AppStrategy({ appId: 'emulator-app', publicKey: readFileSync(webhookKeyFile, 'utf8') }) });
const event = await app.webhooks.process(jwt);
assert.equal(event.eventType, 'wix.crm.inbox.v2.conversation_conversations_merged');
assert.deepEqual(event.payload.actionEvent.body, { oldConversationIds: [merged], targetConversationId: conversationId });
assert.equal(event.accountInfo.siteId, 'emulator-site');
assert.equal(event.identity.identityType, 'UNKNOWN');
const [head, claims, signature] = jwt.split('.');
const forged = `${head}.${claims}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
await assert.rejects(app.webhooks.process(forged));

console.log('official JS SDK: conversations (get-or-create, get, a 404), messages (send, list paged both ways, '
  + 'by visibility) and a conversations_merged webhook all behave as with Wix');
