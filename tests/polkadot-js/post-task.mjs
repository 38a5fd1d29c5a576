// Drives the story's first steps as polkadot.js apps does, through @polkadot/api and nothing
// but the node's metadata: Bob publishes a lambda and Alice posts a task on it (the calls and
// argument shapes the Extrinsics tab builds), a payment too small for the price is refused
// (the error found in the metadata, as the apps' toast shows it), and the events of each block
// are decoded with their field names and docs (the Network > Explorer view). Also reads the
// task's storage and the `TasksApi.sortition` runtime API. Prints one JSON line for the
// `polkadot_js` test.
import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';

const url = process.argv[2] ?? 'ws://127.0.0.1:9944';
const UNIT = 10n ** 12n;
const CID = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi';

const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true });
const keyring = new Keyring({ type: 'sr25519' });
const alice = keyring.addFromUri('//Alice');
const bob = keyring.addFromUri('//Bob');

// Signs and sends `tx`, resolves once it is in a block with that block's decoded events of
// this extrinsic, or the module error it failed with (section, name, docs).
function send(tx, signer) {
  return new Promise((resolve, reject) => {
    tx.signAndSend(signer, ({ status, events, dispatchError }) => {
      if (!status.isInBlock && !status.isFinalized) return;
      const decoded = events.map(({ event }) => ({
        event: `${event.section}.${event.method}`,
        docs: event.meta.docs.map((d) => d.toString()).join(' '),
        fields: Object.fromEntries(
          event.data.map((value, i) => [event.meta.fields[i].name.unwrapOr(`${i}`).toString(), value.toHuman()]),
        ),
      }));
      let error = null;
      if (dispatchError?.isModule) {
        const { section, name, docs } = api.registry.findMetaError(dispatchError.asModule);
        error = { section, name, docs: docs.join(' ') };
      } else if (dispatchError) {
        error = { name: dispatchError.toString() };
      }
      resolve({ block: status.isInBlock ? status.asInBlock.toHex() : status.asFinalized.toHex(), events: decoded, error });
    }).catch(reject);
  });
}

const manifest = {
  entrypoint: '/bin/sh',
  args: ['/code/main.sh'],
  env: [],
  cpuMillicores: 1000,
  memoryMib: 128,
  timeLimitSecs: 60,
  maxOutputBytes: 1 << 20,
};
const published = await send(
  api.tx.lambdas.publish(CID, '0x' + '11'.repeat(32), CID, manifest, 3n * UNIT, false),
  bob,
);
const lambda = published.events.find((e) => e.event === 'lambdas.Published').fields.lambda;

const task = (payment) =>
  api.tx.tasks.postTask(
    lambda,
    [{ cid: CID, owner: alice.address }],
    [{ who: alice.address, x25519: '0x' + '22'.repeat(32) }],
    {
      minCredit: 0,
      committeeSize: 3,
      maxRounds: 3,
      deadlines: { sortition: 10, attestation: 40, keyRelease: 40, run: 60, verdicts: 40 },
      networkNone: true,
      wipe: true,
    },
    payment,
  );
const refused = await send(task(3n * UNIT), alice);
const posted = await send(task(10n * UNIT), alice);
const taskId = posted.events.find((e) => e.event === 'tasks.TaskPosted').fields.task;

const stored = await api.query.tasks.tasks(taskId.replaceAll(',', ''));
const sortition = await api.call.tasksApi.sortition(taskId.replaceAll(',', ''));

console.log(JSON.stringify({
  alice: alice.address,
  bob: bob.address,
  published: published.events,
  refused: refused.error,
  posted: posted.events,
  task: stored.toHuman(),
  sortition: sortition.toHuman(),
}));
await api.disconnect();
