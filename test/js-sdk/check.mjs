// The official Wix JavaScript SDK against the emulator: what works against the emulator
// must work against the real service, and the other way round.
// Usage: node check.mjs <emulator url>   (with NODE_EXTRA_CA_CERTS=<emulator ca_file>)
import assert from 'node:assert/strict';
import { createClient, ApiKeyStrategy } from '@wix/sdk';
import * as conversations from '@wix/auto_sdk_inbox_conversations';

const apiBaseUrl = process.argv[2].replace(/^https:\/\//, ''); // the SDK adds https://
const client = createClient({
  modules: { conversations },
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

console.log('official JS SDK: getOrCreateConversation, getConversation and a 404 all behave as against Wix');
