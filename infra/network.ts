// Where the step tasks run: a new VPC, or an existing one named by ids. Nothing here looks anything up,
// so `cdk synth` stays offline.

import { Fn, type RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** An existing VPC, given by ids (no lookup). */
export interface FinaleExistingVpc {
  readonly vpcId: string;
  /** Subnets the step tasks get their network interfaces in. */
  readonly subnetIds: readonly string[];
  /**
   * The subnets' zones, in the same order, only to describe the imported VPC to CDK code that reads
   * `finale.vpc` (Finale itself needs only the ids).
   *
   * @default - the VPC is imported without subnets
   */
  readonly availabilityZones?: readonly string[];
  /**
   * Give the tasks public IPs: set it for public subnets without a NAT gateway, or images cannot be pulled.
   *
   * @default false
   */
  readonly assignPublicIp?: boolean;
}

interface FinaleNetworkProps {
  /** @default - a new VPC */
  readonly existingVpc?: FinaleExistingVpc;
  /** NAT gateways of the new VPC; 0 puts the tasks in public subnets with public IPs instead. */
  readonly natGateways: number;
  readonly maxAzs: number;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export class FinaleNetwork extends Construct {
  readonly vpc: ec2.IVpc;
  readonly subnetIds: readonly string[];
  readonly assignPublicIp: boolean;
  /** The step tasks' security group: no ingress, all egress (clones, image pulls, package registries). */
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: FinaleNetworkProps) {
    super(scope, id);
    const existing = props.existingVpc;
    if (existing) {
      const zones = existing.availabilityZones;
      this.assignPublicIp = existing.assignPublicIp ?? false;
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: existing.vpcId,
        // A list token stands for "the region's zones" when the caller did not say.
        availabilityZones: zones ? [...zones] : Fn.getAzs(),
        ...(zones &&
          (this.assignPublicIp
            ? { publicSubnetIds: [...existing.subnetIds] }
            : { privateSubnetIds: [...existing.subnetIds] })),
      });
      this.subnetIds = [...existing.subnetIds];
    } else {
      const nat = props.natGateways > 0;
      const vpc = new ec2.Vpc(this, 'Vpc', {
        maxAzs: props.maxAzs,
        natGateways: props.natGateways,
        subnetConfiguration: [
          { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
          ...(nat ? [{ name: 'tasks', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 }] : []),
        ],
      });
      // Rejected traffic only: enough to see what the egress-only group blocks, at a fraction of ALL's cost.
      vpc.addFlowLog('FlowLog', {
        trafficType: ec2.FlowLogTrafficType.REJECT,
        destination: ec2.FlowLogDestination.toCloudWatchLogs(
          new logs.LogGroup(this, 'FlowLogGroup', {
            retention: props.logRetention,
            removalPolicy: props.removalPolicy,
          }),
        ),
      });
      this.vpc = vpc;
      this.assignPublicIp = !nat;
      this.subnetIds = (nat ? vpc.privateSubnets : vpc.publicSubnets).map((subnet) => subnet.subnetId);
    }
    this.securityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: this.vpc,
      description: 'Finale step tasks: no inbound traffic',
      allowAllOutbound: true,
    });
  }
}
