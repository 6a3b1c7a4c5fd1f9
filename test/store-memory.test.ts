import { MemoryStore } from '../src/adapters/store/memory.js';
import { storeContract } from './store-contract.js';

storeContract('memory', async () => new MemoryStore());
storeContract('memory (shared rows)', async () => new MemoryStore({ copyRows: false }));
