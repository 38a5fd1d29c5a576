// Connects @polkadot/api (the library polkadot.js apps is built on) to a vouch-node and prints,
// as one JSON line, what it read through the node's metadata. The `polkadot_js` test runs this
// and checks the answer.
import { ApiPromise, WsProvider } from '@polkadot/api';

const url = process.argv[2] ?? 'ws://127.0.0.1:9944';
const ALICE = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';

const provider = new WsProvider(url, false);
await provider.connect();
const api = await ApiPromise.create({ provider, throwOnConnect: true, noInitWarn: true });

const [chain, properties, header, account, events] = await Promise.all([
  api.rpc.system.chain(),
  api.rpc.system.properties(),
  api.rpc.chain.getFinalizedHead().then((hash) => api.rpc.chain.getHeader(hash)),
  api.query.system.account(ALICE),
  api.query.system.events(),
]);

console.log(JSON.stringify({
  chain: chain.toString(),
  specName: api.runtimeVersion.specName.toString(),
  metadataVersion: api.runtimeMetadata.version,
  pallets: api.runtimeMetadata.asLatest.pallets.map((p) => p.name.toString()),
  tokenSymbol: properties.tokenSymbol.unwrap().map((s) => s.toString()),
  tokenDecimals: properties.tokenDecimals.unwrap().map((d) => d.toNumber()),
  finalized: header.number.toNumber(),
  aliceFree: account.data.free.toString(),
  eventsDecoded: events.length,
  // A call built from metadata, as the apps' extrinsic tab builds it.
  transferCall: api.tx.balances.transferKeepAlive(ALICE, 1).method.toHex(),
}));
await api.disconnect();
