/** Test and benchmark helpers, shared by every package's tests; never imported by product code. */
export { TestBroker, type ReceivedMessage } from './test-broker.js';
export { Mqtt5TestBroker } from './mqtt5-test-broker.js';
export { MosquittoProcess } from './mosquitto-process.js';
export { quiet, tempDir, freePort, waitUntil, eventually } from './wait.js';
export { RabbitCluster, type RabbitClusterOptions, type RabbitNode, type RabbitAuth } from './rabbit-cluster.js';
