// The parties of the paper's comprehensive example (section 5.2), as seeds: who they are,
// what they sell and at what price. The demo and the in-process Figure 2 test start them.

export const PARTIES = {
  money: { domain: 'money.com', scale: 2 },
  bank: { domain: 'bank.com' },
  video: {
    domain: 'video.com',
    /** Working capital video.com holds in money.com dollars before it sells anything. */
    funds: '1000',
    videos: [
      { id: 'clip', title: 'The comprehensive example', kib: 256, price: '5' },
      { id: 'trailer', title: 'Coming soon', kib: 64, price: '1' },
    ],
  },
  /** Bob sells storage and banks opaquely at bank.com as bob@bank.com. */
  bob: { name: 'bob', contract: '10', writePerKb: '0.01', readPerKb: '0.01' },
  /** Alice sells storage through her local agent, and buys the clip with what she earned. */
  alice: { name: 'alice', contract: '10', writePerKb: '0.01', readPerKb: '0.02', perPurchase: '10', perDay: '20' },
} as const;
