// Prints this container's Compose replica name: `<project>-<service>-<n>` under `docker compose`,
// `<project>_<service>_<n>` under docker-compose 1.x. Docker's DNS maps the container's address
// back to that name, which stays the same when the container is recreated; its hostname is only
// the container id, which does not. Merge workers use it as their stable id (see docker-compose.yml).
//
// The PTR record is asked of the DNS server itself (resolvePtr), not through dns.reverse, which
// answers from /etc/hosts first, where Docker writes the container's own address under its id.
const { networkInterfaces } = require('node:os');
const { resolvePtr } = require('node:dns').promises;

const address = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
if (address === undefined) {
  console.error('mrm-replica-name: this container has no IPv4 address');
  process.exit(1);
}
const ptr = `${address.split('.').reverse().join('.')}.in-addr.arpa`;
resolvePtr(ptr).then(
  (names) => {
    if (names.length === 0) {
      console.error(`mrm-replica-name: no DNS name for ${address}; run under docker compose`);
      process.exit(1);
    }
    console.log(names[0].split('.')[0]);
  },
  (error) => {
    console.error(`mrm-replica-name: no DNS name for ${address} (${error.code}); run under docker compose`);
    process.exit(1);
  },
);
