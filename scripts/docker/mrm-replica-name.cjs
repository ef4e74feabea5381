// Prints this container's Compose replica name: `<project>-<service>-<n>` under `docker compose`,
// `<project>_<service>_<n>` under docker-compose 1.x. Compose's DNS maps the container's address
// back to that name, which stays the same when the container is recreated; its hostname is only
// the container id, which does not. Merge workers use it as their stable id (see docker-compose.yml).
const { networkInterfaces } = require('node:os');
const { reverse } = require('node:dns').promises;

const address = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
if (address === undefined) {
  console.error('mrm-replica-name: this container has no IPv4 address');
  process.exit(1);
}
reverse(address).then(
  (names) => console.log(names[0].split('.')[0]),
  (error) => {
    console.error(`mrm-replica-name: no DNS name for ${address} (${error.code}); run under docker compose`);
    process.exit(1);
  },
);
