export * from './modbus-transport.js';
